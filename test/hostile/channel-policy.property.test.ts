/**
 * Properties of the channel policy (PROTOCOL §5), checked on every subscribe and again at fan-out:
 * `canSubscribe` never throws for any policy the configuration accepts; under the default policy
 * a non-admin never reads a `system:*` channel nor another user's `user:*` channel; and anonymous
 * connections get only what `anyone` rules grant. Pure: no network.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ADMIN_ROLE,
  authorizedPatterns,
  type ChannelRule,
  canSubscribe,
  channelRuleSchema,
  DEFAULT_CHANNEL_POLICY,
  type Principal,
} from '../../core/channel-policy.js';

const GRAMMAR_CHARS = [...'ABab09_.:@-'];
/** Strings a hostile user id or channel might hold: regex metacharacters, separators, look-alikes. */
const tricky = fc.oneof(
  fc.string({ unit: fc.constantFrom(...GRAMMAR_CHARS), minLength: 1, maxLength: 12 }),
  fc.string({
    unit: fc.constantFrom(
      ...GRAMMAR_CHARS,
      '.',
      '*',
      '+',
      '?',
      '(',
      ')',
      '[',
      ']',
      '{',
      '}',
      '|',
      '^',
      '$',
      '\\',
      '#',
      '\n',
      ' ',
      'é',
    ),
    minLength: 1,
    maxLength: 12,
  }),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }),
);
const channel = fc.oneof(
  tricky,
  tricky.map((s) => `user:${s}`),
  tricky.map((s) => `system:${s}`),
  fc.constantFrom('announcements', 'user:', 'system:', 'system', 'user', ''),
);

const roles = fc.array(fc.oneof(fc.constantFrom(ADMIN_ROLE, 'Admin', 'ADMIN', 'admin ', 'ops'), tricky), {
  maxLength: 4,
});
const principal: fc.Arbitrary<Principal> = fc
  .record({ userId: tricky, roles, tenant: fc.option(tricky, { nil: undefined }), anonymous: fc.boolean() })
  .map(({ tenant, ...rest }) => (tenant === undefined ? rest : { ...rest, tenant }));
const nonAdmin = principal.filter((p) => !p.roles.includes(ADMIN_ROLE));

/** Rules as the configuration accepts them (`SWITCHBOARD_CHANNEL_POLICY` is parsed with this schema). */
const rule: fc.Arbitrary<ChannelRule> = fc
  .record({
    pattern: fc
      .array(
        fc.oneof(
          fc.constantFrom('{userId}', '*', 'user:', 'system:', '{', '}'),
          fc.string({ unit: fc.constantFrom(...GRAMMAR_CHARS), minLength: 1, maxLength: 6 }),
        ),
        { minLength: 1, maxLength: 4 },
      )
      .map((parts) => parts.join('')),
    allow: fc.oneof(
      fc.constantFrom('anyone' as const, 'authenticated' as const, 'owner' as const),
      fc.record({
        roles: fc.array(fc.oneof(fc.constantFrom(ADMIN_ROLE, 'ops'), tricky), { minLength: 1, maxLength: 3 }),
      }),
    ),
  })
  .filter((r) => channelRuleSchema.safeParse(r).success);
const policy = fc.array(rule, { minLength: 1, maxLength: 5 });
/**
 * The same, with at most one `{userId}` per pattern (as docs/configuration.md documents patterns), for the
 * properties that are not about pattern validation: a second placeholder makes `canSubscribe`
 * throw, which the first property below reports on its own.
 */
const documentedPolicy = fc.array(
  rule.filter((r) => r.pattern.split('{userId}').length <= 2),
  { minLength: 1, maxLength: 5 },
);

describe('canSubscribe', () => {
  it('never throws, for any policy the configuration accepts, any principal and any channel', () => {
    fc.assert(
      fc.property(policy, principal, channel, (rules, who, name) => {
        expect(typeof canSubscribe(rules, who, name)).toBe('boolean');
      }),
      { numRuns: 3000 },
    );
  });

  it('never throws for policies with at most one {userId} per pattern, as documented', () => {
    fc.assert(
      fc.property(documentedPolicy, principal, channel, (rules, who, name) => {
        expect(typeof canSubscribe(rules, who, name)).toBe('boolean');
      }),
      { numRuns: 3000 },
    );
  });

  it('never throws for the default policy', () => {
    fc.assert(
      fc.property(principal, channel, (who, name) => {
        expect(typeof canSubscribe(DEFAULT_CHANNEL_POLICY, who, name)).toBe('boolean');
      }),
      { numRuns: 3000 },
    );
  });
});

describe('the default policy', () => {
  it('never gives a non-admin a system:* channel', () => {
    fc.assert(
      fc.property(nonAdmin, fc.string({ unit: 'binary', maxLength: 20 }), (who, suffix) => {
        expect(canSubscribe(DEFAULT_CHANNEL_POLICY, who, `system:${suffix}`)).toBe(false);
      }),
      { numRuns: 3000 },
    );
  });

  it("never gives a non-admin another user's user:* channel, near misses included", () => {
    const otherOf = (userId: string) =>
      fc
        .oneof(
          tricky,
          fc.constantFrom(
            `${userId}x`,
            `x${userId}`,
            `${userId}:x`,
            userId.toUpperCase(),
            `${userId}\n`,
            `.*`,
          ),
        )
        .filter((other) => other !== userId);
    fc.assert(
      fc.property(
        nonAdmin.chain((who) => fc.tuple(fc.constant(who), otherOf(who.userId))),
        ([who, other]) => {
          expect(canSubscribe(DEFAULT_CHANNEL_POLICY, who, `user:${other}`)).toBe(false);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('gives an anonymous connection announcements and nothing else', () => {
    const anonymous = principal.map((p) => ({ ...p, anonymous: true }));
    fc.assert(
      fc.property(anonymous, channel, (who, name) => {
        expect(canSubscribe(DEFAULT_CHANNEL_POLICY, who, name)).toBe(name === 'announcements');
      }),
      { numRuns: 3000 },
    );
  });
});

describe('anonymous principals, under any policy', () => {
  /** A role nobody is generated with: it stands for "allowed to no one". */
  const NOBODY = { roles: ['\u0000nobody\u0000'] };
  const onlyAnyone = (rules: readonly ChannelRule[]): ChannelRule[] =>
    rules.map((r) => (r.allow === 'anyone' ? r : { pattern: r.pattern, allow: NOBODY }));
  const anonymous = principal.map((p) => ({ ...p, anonymous: true }));

  it('get exactly what the same policy would give with every non-anyone rule closed', () => {
    fc.assert(
      fc.property(documentedPolicy, anonymous, channel, (rules, who, name) => {
        expect(canSubscribe(rules, who, name)).toBe(canSubscribe(onlyAnyone(rules), who, name));
      }),
      { numRuns: 3000 },
    );
  });

  it('are shown only the patterns of anyone rules', () => {
    fc.assert(
      fc.property(documentedPolicy, anonymous, (rules, who) => {
        const anyone = rules
          .filter((r) => r.allow === 'anyone')
          .map((r) => r.pattern.replace('{userId}', '*'));
        for (const pattern of authorizedPatterns(rules, who)) expect(anyone).toContain(pattern);
      }),
      { numRuns: 3000 },
    );
  });
});
