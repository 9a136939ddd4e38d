/**
 * Wildcard patterns (PROTOCOL §8): their grammar, the prefixes publish looks them up by, and the
 * policy rule that a pattern is allowed only where every channel it can match is.
 */
import { describe, expect, it } from 'vitest';
import {
  type ChannelRule,
  canSubscribe,
  DEFAULT_CHANNEL_POLICY,
  type Principal,
} from '../../core/channel-policy.js';
import { ProtocolError, parseClientMessage } from '../../core/protocol.js';
import { canSubscribeTo, canSubscribeWildcard } from '../../core/wildcard-policy.js';
import { matchesWildcard, wildcardPrefixes } from '../../core/wildcards.js';

const alice: Principal = { userId: 'alice', roles: [], anonymous: false };
const admin: Principal = { userId: 'root', roles: ['admin'], anonymous: false };
const anonymous: Principal = { userId: 'anonymous:c1', roles: [], anonymous: true };
const ops: Principal = { userId: 'olga', roles: ['ops'], anonymous: false };

const refusal = (raw: unknown) => {
  try {
    parseClientMessage(JSON.stringify(raw));
  } catch (error) {
    return error instanceof ProtocolError ? `${error.code}: ${error.message}` : String(error);
  }
  return 'accepted';
};

describe('the pattern grammar', () => {
  it.each(['apps:*', 'metrics.eu.*', ':*', '.*', `${'a'.repeat(126)}:*`])(
    'accepts %s in subscribe and unsubscribe, in both client styles',
    (channel) => {
      expect(parseClientMessage(JSON.stringify({ action: 'subscribe', channel }))).toMatchObject({ channel });
      expect(parseClientMessage(JSON.stringify({ type: 'unsubscribe', channel }))).toMatchObject({ channel });
    },
  );

  it.each([
    ['a star alone', '*'],
    ['a star not after ":" or "."', 'apps*'],
    ['two stars', 'apps:**'],
    ['a star inside', 'apps:*:x'],
    ['a star in the middle', 'a*:b'],
    ['a pattern over 128 characters', `${'a'.repeat(127)}:*`],
    ['characters outside the grammar', 'apps/x:*'],
  ])('refuses %s with invalid_request', (_what, channel) => {
    expect(refusal({ action: 'subscribe', channel })).toMatch(/^invalid_request: subscribe: channel must be/);
  });

  it('is not a channel: publish refuses a pattern', () => {
    expect(refusal({ action: 'publish', channel: 'room:*', data: 1 })).toMatch(/^invalid_request/);
  });
});

describe('the prefixes of a channel', () => {
  it('are the name up to each ":" and ".", shortest first', () => {
    expect(wildcardPrefixes('a:b.c')).toEqual(['a:', 'a:b.']);
    expect(wildcardPrefixes('metrics.eu.cpu')).toEqual(['metrics.', 'metrics.eu.']);
    expect(wildcardPrefixes('news')).toEqual([]);
    expect(wildcardPrefixes('apps:')).toEqual(['apps:']);
  });

  it('are exactly the prefixes of the patterns that match the channel', () => {
    const channel = 'a:b.c:d';
    const patterns = ['a:*', 'a:b.*', 'a:b.c:*', 'a.*', 'a:b:*', 'b:*'];
    const matching = patterns.filter((p) => matchesWildcard(p, channel));
    expect(matching.map((p) => p.slice(0, -1))).toEqual(wildcardPrefixes(channel));
  });
});

describe('who may subscribe to a pattern under the default policy', () => {
  const can = (p: Principal, pattern: string) => canSubscribeWildcard(DEFAULT_CHANNEL_POLICY, p, pattern);

  it('lets authenticated users take a family of ordinary channels', () => {
    expect(can(alice, 'apps:*')).toBe(true);
    expect(can(alice, 'metrics.eu.*')).toBe(true);
    // Look-alikes of the guarded prefixes are ordinary channels, as for exact names.
    expect(can(alice, 'system.*')).toBe(true);
    expect(can(alice, 'users:*')).toBe(true);
  });

  it('keeps user and system families to admins', () => {
    for (const pattern of ['user:*', 'system:*', 'user:alice.*', 'user:alice:*', 'system:eu.*']) {
      expect(can(alice, pattern), pattern).toBe(false);
      expect(can(admin, pattern), pattern).toBe(true);
    }
  });

  it('refuses anonymous connections every family, as it refuses them every channel but announcements', () => {
    expect(can(anonymous, 'apps:*')).toBe(false);
    expect(can(anonymous, 'announcements.*')).toBe(false);
    expect(canSubscribe(DEFAULT_CHANNEL_POLICY, anonymous, 'announcements.x')).toBe(false);
  });

  it('never allows a pattern when some channel it matches is refused exactly', () => {
    // Every prefix of a sample of channels, checked against the exact decision on those channels.
    const channels = ['user:bob', 'user:alice', 'system:x', 'apps:a', 'announcements', 'user:', 'u:x.y'];
    for (const principal of [alice, admin, anonymous]) {
      for (const channel of channels) {
        for (const prefix of wildcardPrefixes(channel)) {
          if (can(principal, `${prefix}*`)) {
            expect(canSubscribe(DEFAULT_CHANNEL_POLICY, principal, channel), `${prefix}* → ${channel}`).toBe(
              true,
            );
          }
        }
      }
    }
  });
});

describe('patterns under other policies', () => {
  const policy: ChannelRule[] = [
    { pattern: 'ops:*', allow: { roles: ['ops'] } },
    { pattern: 'team:{userId}:inbox', allow: 'owner' },
    { pattern: 'public:*', allow: 'anyone' },
    { pattern: 'exact:name', allow: 'authenticated' },
  ];

  it('follows role rules', () => {
    expect(canSubscribeWildcard(policy, ops, 'ops:*')).toBe(true);
    expect(canSubscribeWildcard(policy, ops, 'ops:eu.*')).toBe(true);
    expect(canSubscribeWildcard(policy, alice, 'ops:*')).toBe(false);
  });

  it('refuses a family that reaches an owner template, whoever owns the prefix', () => {
    // team:alice:x:inbox belongs to "alice:x", not alice.
    expect(canSubscribeWildcard(policy, alice, 'team:alice:*')).toBe(false);
    expect(canSubscribeWildcard(policy, admin, 'team:alice:*')).toBe(false);
  });

  it('refuses a family that holds channels no rule matches', () => {
    expect(canSubscribeWildcard(policy, admin, 'exact:*')).toBe(false);
    expect(canSubscribeWildcard(policy, admin, 'other:*')).toBe(false);
  });

  it('allows what a catch-all after the guarded rules allows', () => {
    expect(canSubscribeWildcard(policy, anonymous, 'public:*')).toBe(true);
    expect(canSubscribeWildcard(policy, anonymous, 'public:a.*')).toBe(true);
  });

  it('routes names to the exact or the pattern check', () => {
    expect(canSubscribeTo(DEFAULT_CHANNEL_POLICY, alice, 'user:alice')).toBe(true);
    expect(canSubscribeTo(DEFAULT_CHANNEL_POLICY, alice, 'user:*')).toBe(false);
  });
});
