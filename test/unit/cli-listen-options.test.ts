/**
 * `npm run listen`'s flags (cli/listen-options.ts): repeated channels once, `--since` only as a
 * plain decimal seq and never with a pattern, identity flags inside the token verifier's claim
 * limits and never beside a given token; and `--pretty`'s escape of control characters.
 */
import { describe, expect, it } from 'vitest';
import { checkListenFlags, ListenOptionsError, printable } from '../../cli/listen-options.js';

function refusal(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof ListenOptionsError) return error.message;
    throw error;
  }
  return 'accepted';
}

describe('checkListenFlags', () => {
  it('subscribes a channel named twice once', () => {
    expect(checkListenFlags({ channel: ['news', 'news', 'audit'] }).channels).toEqual(['news', 'audit']);
  });

  it('accepts a plain decimal --since up to Number.MAX_SAFE_INTEGER', () => {
    expect(checkListenFlags({ channel: ['news'], since: '0' }).since).toBe(0);
    expect(checkListenFlags({ channel: ['news'], since: '41' }).since).toBe(41);
    expect(checkListenFlags({ channel: ['news'], since: String(Number.MAX_SAFE_INTEGER) }).since).toBe(
      Number.MAX_SAFE_INTEGER,
    );
  });

  it.each(['', ' ', '0x10', '1e3', '-1', '+1', '1.5', ' 7', '9007199254740992'])(
    'refuses --since "%s"',
    (since) => {
      expect(refusal(() => checkListenFlags({ channel: ['news'], since }))).toContain(
        `--since must be a seq (a non-negative decimal integer up to ${Number.MAX_SAFE_INTEGER}), got "${since}"`,
      );
    },
  );

  it('refuses --since with a pattern, as PROTOCOL §8 does', () => {
    expect(refusal(() => checkListenFlags({ channel: ['news', 'apps:*'], since: '3' }))).toBe(
      '--since cannot be combined with the pattern "apps:*"',
    );
    expect(checkListenFlags({ channel: ['apps:*'] }).channels).toEqual(['apps:*']);
  });

  it('mints as listen-cli by default and takes --sub, --roles and --tenant within the claim limits', () => {
    expect(checkListenFlags({ channel: ['news'] }).identity).toEqual({ userId: 'listen-cli', roles: [] });
    expect(
      checkListenFlags({ channel: ['news'], sub: 'alice', roles: 'admin, ops,', tenant: 'acme' }).identity,
    ).toEqual({ userId: 'alice', roles: ['admin', 'ops'], tenant: 'acme' });
  });

  it.each([
    [{ sub: '' }, '--sub must be 1 to 256 characters, got ""'],
    [{ sub: 'a'.repeat(257) }, '--sub must be 1 to 256 characters, got 257 characters'],
    [{ roles: 'r'.repeat(65) }, '--roles: each role is at most 64 characters'],
    [{ roles: Array.from({ length: 51 }, (_, i) => `r${i}`).join(',') }, '--roles: at most 50 roles, got 51'],
    [{ tenant: 'no spaces' }, '--tenant must match [A-Za-z0-9_.:@-]{1,128}, got "no spaces"'],
  ])('refuses an identity the token verifier would refuse: %j', (flags, reason) => {
    expect(refusal(() => checkListenFlags({ channel: ['news'], ...flags }))).toContain(reason);
  });

  it('refuses --sub, --roles or --tenant beside a given token, which would ignore them', () => {
    expect(
      refusal(() => checkListenFlags({ channel: ['news'], sub: 'alice', roles: 'admin' }, '--token')),
    ).toBe("--sub, --roles cannot be combined with --token: the token's own claims say who it is");
    expect(
      refusal(() => checkListenFlags({ channel: ['news'], tenant: 'acme' }, 'SWITCHBOARD_TOKEN')),
    ).toContain('--tenant cannot be combined with SWITCHBOARD_TOKEN');
    expect(checkListenFlags({ channel: ['news'] }, '--token')).toEqual({ channels: ['news'] });
  });
});

describe('printable', () => {
  it('escapes C0, DEL, C1 and bidirectional controls and keeps everything else', () => {
    expect(printable('\u001b]0;pwned\u0007\u001b[2J')).toBe('\\u001b]0;pwned\\u0007\\u001b[2J');
    expect(printable('a\u009b31mb\u007fc\u202eevil')).toBe('a\\u009b31mb\\u007fc\\u202eevil');
    expect(printable('tab\there\nline')).toBe('tab\\u0009here\\u000aline');
    expect(printable('order_paid émoji 🎉 "quoted"')).toBe('order_paid émoji 🎉 "quoted"');
  });
});
