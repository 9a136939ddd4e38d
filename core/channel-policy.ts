/**
 * Who may subscribe to which channel. A policy is an ordered list of rules; the first rule whose
 * pattern matches the channel decides. Checked on every subscribe and again at fan-out.
 */
import * as z from './validation.js';

/** The role that may read other users' channels and ask for `stats`. */
export const ADMIN_ROLE = 'admin';

/** The identity a connection was authenticated as. */
export interface Principal {
  readonly userId: string;
  readonly roles: readonly string[];
  readonly tenant?: string;
  /** True for connections admitted without a token (when anonymous connections are enabled). */
  readonly anonymous: boolean;
}

export const channelRuleSchema = z.object({
  /** A channel name, a prefix ending in `*`, or a pattern with one `{userId}` placeholder. */
  pattern: z.string().check(
    z.regex(/^[A-Za-z0-9_.:@{}*-]{1,128}$/, 'pattern must use channel characters, "*" or "{userId}"'),
    // Braces only as one `{userId}`: the placeholder becomes a named capture group, which a
    // regular expression may hold once.
    z.refine(
      (p: string) => /^[^{}]*(\{userId\}[^{}]*)?$/.test(p),
      'pattern may hold "{userId}" at most once and no other braces',
    ),
  ),
  allow: z.union([
    z.enum(['anyone', 'authenticated', 'owner']),
    z.object({ roles: z.array(z.string().check(z.minLength(1))).check(z.minLength(1)) }),
  ]),
});
/**
 * One rule of a policy (what `channelRuleSchema` accepts). Written out rather than inferred from
 * the schema so the construct's published types (`@switchboard/cdk`) do not depend on zod's.
 */
export interface ChannelRule {
  /** A channel name, a prefix ending in `*`, or a pattern with one `{userId}` placeholder. */
  readonly pattern: string;
  readonly allow: 'anyone' | 'authenticated' | 'owner' | { readonly roles: readonly string[] };
}
// The schema and the interface cannot drift: tsc fails here when what the schema parses is not a ChannelRule.
type Holds<T extends true> = T;
export type ParsedRuleIsChannelRule = Holds<
  z.infer<typeof channelRuleSchema> extends ChannelRule ? true : false
>;

/** PROTOCOL §5's default policy. */
export const DEFAULT_CHANNEL_POLICY: readonly ChannelRule[] = [
  { pattern: 'announcements', allow: 'anyone' },
  { pattern: 'user:{userId}', allow: 'owner' },
  { pattern: 'system:*', allow: { roles: [ADMIN_ROLE] } },
  { pattern: '*', allow: 'authenticated' },
];

/** Where clients may publish by default (PROTOCOL §8): rooms and chats, for signed-in users. */
export const DEFAULT_PUBLISH_POLICY: readonly ChannelRule[] = [
  { pattern: 'chat:*', allow: 'authenticated' },
  { pattern: 'room:*', allow: 'authenticated' },
];

/**
 * Where Switchboard tracks who is subscribed (PROTOCOL §8): rooms, chats and `presence:*`. A user
 * is a member of such a channel when the rule that names it allows the user (so a rule such as
 * `{"pattern":"agents:*","allow":{"roles":["agent"]}}` lists agents and not the dashboards that
 * watch them); anonymous connections are never members under the default.
 */
export const DEFAULT_PRESENCE_POLICY: readonly ChannelRule[] = [
  { pattern: 'chat:*', allow: 'authenticated' },
  { pattern: 'room:*', allow: 'authenticated' },
  { pattern: 'presence:*', allow: 'authenticated' },
];

const compiled = new WeakMap<ChannelRule, RegExp>();

function ruleRegex(rule: ChannelRule): RegExp {
  let regex = compiled.get(rule);
  if (!regex) {
    const source = rule.pattern
      .split(/(\{userId\}|\*)/)
      .map((part) => {
        if (part === '{userId}') return '(?<owner>.+)';
        if (part === '*') return '.*';
        return part.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&');
      })
      .join('');
    regex = new RegExp(`^${source}$`);
    compiled.set(rule, regex);
  }
  return regex;
}

export function isAdmin(principal: Principal): boolean {
  return principal.roles.includes(ADMIN_ROLE);
}

/**
 * True when `rule` lets `principal` read a channel it matches, `owner` being what its `{userId}`
 * captured. With `owner` undefined, an `owner` rule allows admins only: true for every owner.
 */
export function allows(rule: ChannelRule, principal: Principal, owner: string | undefined): boolean {
  const { allow } = rule;
  if (allow === 'anyone') return true;
  if (principal.anonymous) return false;
  if (allow === 'authenticated') return true;
  if (allow === 'owner') return owner === principal.userId || isAdmin(principal);
  return allow.roles.some((role) => principal.roles.includes(role));
}

/** True when `principal` may subscribe to (and receive events of) `channel`. */
export function canSubscribe(policy: readonly ChannelRule[], principal: Principal, channel: string): boolean {
  for (const rule of policy) {
    const match = ruleRegex(rule).exec(channel);
    if (match) return allows(rule, principal, match.groups?.owner);
  }
  return false;
}

/** True when some rule of `policy` names `channel`, whoever asks (the first match decides who). */
export function policyNames(policy: readonly ChannelRule[], channel: string): boolean {
  return policy.some((rule) => ruleRegex(rule).test(channel));
}

/** The patterns this principal may subscribe to, as shown by `whoami` and `list_channels`. */
export function authorizedPatterns(policy: readonly ChannelRule[], principal: Principal): string[] {
  const patterns: string[] = [];
  for (const rule of policy) {
    const hasOwner = rule.pattern.includes('{userId}');
    if (rule.allow === 'owner' && !principal.anonymous) {
      patterns.push(rule.pattern.replace('{userId}', isAdmin(principal) ? '*' : principal.userId));
    } else if (allows(rule, principal, undefined)) {
      patterns.push(hasOwner ? rule.pattern.replace('{userId}', '*') : rule.pattern);
    }
  }
  return patterns;
}
