import { describe, expect, it } from 'vitest';
import {
  authorizedPatterns,
  canSubscribe,
  channelRuleSchema,
  DEFAULT_CHANNEL_POLICY,
  type Principal,
} from '../../core/channel-policy.js';

const alice: Principal = { userId: 'alice', roles: [], anonymous: false };
const admin: Principal = { userId: 'root', roles: ['admin'], anonymous: false };
const anonymous: Principal = { userId: 'anonymous:c1', roles: [], anonymous: true };
const can = (p: Principal, channel: string) => canSubscribe(DEFAULT_CHANNEL_POLICY, p, channel);

describe('the default channel policy', () => {
  it('lets anyone, even anonymous connections, read announcements', () => {
    expect(can(anonymous, 'announcements')).toBe(true);
    expect(can(alice, 'announcements')).toBe(true);
  });

  it('keeps user channels to their owner and admins', () => {
    expect(can(alice, 'user:alice')).toBe(true);
    expect(can(alice, 'user:bob')).toBe(false);
    expect(can(alice, 'user:alice2')).toBe(false);
    expect(can(admin, 'user:bob')).toBe(true);
    expect(can(anonymous, 'user:anonymous:c1')).toBe(false);
  });

  it('keeps system channels to admins', () => {
    expect(can(alice, 'system:health')).toBe(false);
    expect(can(admin, 'system:health')).toBe(true);
  });

  it('lets authenticated users read anything else, but not anonymous ones', () => {
    expect(can(alice, 'cluster_code_16')).toBe(true);
    expect(can(anonymous, 'cluster_code_16')).toBe(false);
  });

  it('matches case-sensitively, so look-alike prefixes are "anything else"', () => {
    expect(can(alice, 'System:health')).toBe(true);
    expect(can(alice, 'Announcements')).toBe(true);
    expect(can(anonymous, 'Announcements')).toBe(false);
  });

  it('treats regex characters in patterns literally', () => {
    const policy = [{ pattern: 'a.b', allow: 'anyone' as const }];
    expect(canSubscribe(policy, anonymous, 'a.b')).toBe(true);
    expect(canSubscribe(policy, anonymous, 'axb')).toBe(false);
  });

  it('denies a channel no rule matches', () => {
    const policy = [{ pattern: 'only', allow: 'anyone' as const }];
    expect(canSubscribe(policy, admin, 'other')).toBe(false);
  });

  it('lists the patterns a user may subscribe to', () => {
    expect(authorizedPatterns(DEFAULT_CHANNEL_POLICY, alice)).toEqual(['announcements', 'user:alice', '*']);
    expect(authorizedPatterns(DEFAULT_CHANNEL_POLICY, admin)).toEqual([
      'announcements',
      'user:*',
      'system:*',
      '*',
    ]);
    expect(authorizedPatterns(DEFAULT_CHANNEL_POLICY, anonymous)).toEqual(['announcements']);
  });
});

describe('policy rules from configuration', () => {
  it('refuse a pattern with two {userId} placeholders or stray braces, instead of failing every check later', () => {
    expect(channelRuleSchema.safeParse({ pattern: 'user:{userId}:{userId}', allow: 'owner' }).success).toBe(
      false,
    );
    expect(channelRuleSchema.safeParse({ pattern: 'user:{user}', allow: 'owner' }).success).toBe(false);
    expect(channelRuleSchema.safeParse({ pattern: 'user:{userId}:inbox', allow: 'owner' }).success).toBe(
      true,
    );
  });
});
