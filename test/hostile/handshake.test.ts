/**
 * Hostile handshakes against the real local stack with an Origin allow-list (PROTOCOL §2): a
 * forbidden or look-alike Origin gets 403, a token offer without a usable token gets 401, and
 * neither opens a WebSocket, stores a `conn#` item, or stops the stack serving others.
 */
import { domainToASCII } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forgeJwt, LeakWatch, plantedClaims } from '../support/hostile-jwt.js';
import {
  attemptHandshake,
  attemptRawHandshake,
  expectCleanLogs,
  expectStillServing,
  type HandshakeOptions,
  useHostileStack,
} from '../support/hostile-stack.js';
import { TEST_SECRET } from '../support/local-stack.js';
import { TestClient } from '../support/ws-client.js';

const ALLOWED = ['https://app.example.com', 'http://localhost:3000'];
const watch = new LeakWatch();
const suite = useHostileStack({ SWITCHBOARD_ALLOWED_ORIGINS: ALLOWED.join(',') });
let sentinel: TestClient;

/** A fresh valid token with planted claims. */
const valid = () =>
  watch.sent(forgeJwt({ alg: 'HS256', typ: 'JWT' }, plantedClaims(watch), { hmac: TEST_SECRET }));

async function expectRefused(status: 400 | 401 | 403, options: HandshakeOptions): Promise<void> {
  const outcome = await attemptHandshake(suite.probe, suite.stack.websocketUrl, options);
  expect(outcome).toEqual({ status, stored: [] });
  await expectStillServing(sentinel);
}

beforeAll(async () => {
  sentinel = await TestClient.connect(suite.stack.websocketUrl, { token: valid() });
});

afterAll(async () => {
  await sentinel?.close();
});

describe('the Origin allow-list', () => {
  it.each([
    ['the first allowed origin', ALLOWED[0] as string],
    ['the second allowed origin', ALLOWED[1] as string],
  ])('admits %s exactly (control)', async (_name, origin) => {
    const outcome = await attemptHandshake(suite.probe, suite.stack.websocketUrl, {
      token: valid(),
      headers: { Origin: origin },
    });
    expect(outcome.status).toBe(101);
    expect(outcome.stored).toHaveLength(1);
  });

  it('admits a client that sends no Origin at all (not a browser; control)', async () => {
    expect((await attemptHandshake(suite.probe, suite.stack.websocketUrl, { token: valid() })).status).toBe(
      101,
    );
  });

  it.each([
    ['another site', 'https://evil.example.com'],
    ['the allowed host as a prefix of another domain', 'https://app.example.com.evil.io'],
    ['the allowed host as a suffix of another name', 'https://evilapp.example.com'],
    ['a sub-domain of the allowed host', 'https://www.app.example.com'],
    ['the allowed host truncated', 'https://app.example.co'],
    ['the allowed host with a letter added', 'https://app.example.comm'],
    ['the allowed host over http instead of https', 'http://app.example.com'],
    ['the allowed host over wss', 'wss://app.example.com'],
    ['the allowed host with its default port spelled out', 'https://app.example.com:443'],
    ['the allowed host on another port', 'https://app.example.com:8443'],
    ['localhost on another port', 'http://localhost:3001'],
    ['localhost without its port', 'http://localhost'],
    ['127.0.0.1 instead of localhost', 'http://127.0.0.1:3000'],
    ['localhost over https', 'https://localhost:3000'],
    ['the allowed origin in upper case', 'HTTPS://APP.EXAMPLE.COM'],
    ['the allowed host in mixed case', 'https://App.Example.com'],
    ['the allowed origin with a trailing slash', 'https://app.example.com/'],
    ['the allowed origin with a path', 'https://app.example.com/login'],
    ['the allowed origin with user info pointing elsewhere', 'https://app.example.com@evil.io'],
    ['a Cyrillic look-alike host (punycode)', `https://${domainToASCII('аpp.example.com')}`],
    ['"null" (sandboxed iframes, file: pages)', 'null'],
    ['an empty Origin', ''],
    ['two origins in one header, the allowed one first', 'https://app.example.com, https://evil.io'],
    ['two origins in one header, the allowed one last', 'https://evil.io https://app.example.com'],
    ['a file: origin', 'file://'],
    ['a browser extension', 'chrome-extension://abcdefghijklmnop'],
  ])('refuses %s with 403', async (_name, origin) => {
    await expectRefused(403, { token: valid(), headers: { Origin: origin } });
  });
});

describe('subprotocol offers without a usable token', () => {
  it('answers a token- offer with the non-token offer beside it (control)', async () => {
    const client = await TestClient.connect(suite.stack.websocketUrl, {
      protocols: ['switchboard.v1', `token-${valid()}`],
    });
    expect(client.socket.protocol).toBe('switchboard.v1');
    await client.close();
  });

  const raw = (value: string): HandshakeOptions => ({ headers: { 'Sec-WebSocket-Protocol': value } });
  it.each<[string, () => HandshakeOptions]>([
    ['only "token-" with an empty token', () => ({ protocols: ['token-'] })],
    [
      '"token-" with an empty token beside switchboard.v1',
      () => ({ protocols: ['token-', 'switchboard.v1'] }),
    ],
    ['switchboard.v1 followed by an empty "token-"', () => ({ protocols: ['switchboard.v1', 'token-'] })],
    ['only garbage protocols', () => ({ protocols: ['garbage', 'x-y.z', '!#$%'] })],
    ['a valid token behind a mis-cased "Token-" prefix', () => ({ protocols: [`Token-${valid()}`] })],
    ['a valid token behind "TOKEN-"', () => ({ protocols: [`TOKEN-${valid()}`] })],
    ['a valid token behind "token" without the dash', () => ({ protocols: [`token${valid()}`] })],
    ['a valid token behind "token_"', () => ({ protocols: [`token_${valid()}`] })],
    ['"token-" followed by garbage', () => ({ protocols: ['token-garbage'] })],
    ['an empty token- beside a valid token in the query', () => ({ token: valid(), protocols: ['token-'] })],
  ])('refuses %s with 401', async (_name, options) => {
    await expectRefused(401, options());
  });

  // RFC 6455 §4.1: the header is a comma-separated list of tokens. One that breaks this grammar
  // is not a WebSocket handshake at all; ws (and so the local gateway) answers 400 before $connect.
  it.each<[string, () => string]>([
    ['a header of commas and blanks only', () => ', , ,,'],
    ['a valid token after "token- " with a space', () => `token- ${valid()}`],
    ['a valid token with a parameter appended', () => `token-${valid()};q=1`],
  ])('refuses %s (not RFC 6455 syntax) with 400', async (_name, value) => {
    await expectRefused(400, raw(value()));
  });
});

describe('Authorization headers that are not one Bearer token', () => {
  it.each<[string, () => string]>([
    ['"Bearer" alone', () => 'Bearer'],
    ['Basic credentials', () => 'Basic dXNlcjpwYXNzd29yZA=='],
    ['a valid token under another scheme', () => `Token ${valid()}`],
    ['a valid token with no scheme', () => valid()],
    ['two valid tokens after one Bearer', () => `Bearer ${valid()} ${valid()}`],
    ['two Bearer credentials in one header', () => `Bearer ${valid()}, Bearer ${valid()}`],
    ['a tab instead of a space after Bearer', () => `Bearer\t${valid()}`],
    ['an encoded space after Bearer', () => `Bearer%20${valid()}`],
    ['a garbage Bearer token', () => 'Bearer not.a.jwt'],
    ['Bearer with an empty-looking token', () => 'Bearer ""'],
  ])('refuses %s with 401', async (_name, authorization) => {
    await expectRefused(401, { headers: { Authorization: authorization() } });
  });
});

describe('repeated headers: every value counts, not just the first or the last', () => {
  // Browsers never repeat these headers, but proxies, WAFs and API Gateway each pick "the" value
  // of a repeated header in their own way (API Gateway's `headers` keeps the last one, its
  // `multiValueHeaders` all of them). A handshake must not be admitted on whichever value one of
  // them happens to read: two different tokens are two tokens, and a forbidden Origin is forbidden.
  const raw = (...lines: Array<readonly [string, string]>) =>
    attemptRawHandshake(suite.probe, suite.stack.websocketUrl, lines);

  it('admits one valid Bearer token sent this way (control)', async () => {
    expect((await raw(['Authorization', `Bearer ${valid()}`])).status).toBe(101);
  });

  it.each<[string, () => Array<readonly [string, string]>]>([
    [
      'two Authorization headers with different valid tokens',
      () => [
        ['Authorization', `Bearer ${valid()}`],
        ['Authorization', `Bearer ${valid()}`],
      ],
    ],
    [
      '"Authorization" and "authorization" with different valid tokens',
      () => [
        ['Authorization', `Bearer ${valid()}`],
        ['authorization', `Bearer ${valid()}`],
      ],
    ],
    [
      'a garbage Authorization header before a valid one',
      () => [
        ['Authorization', 'Bearer garbage'],
        ['Authorization', `Bearer ${valid()}`],
      ],
    ],
    [
      'two Sec-WebSocket-Protocol headers offering different tokens',
      () => [
        ['Sec-WebSocket-Protocol', `token-${valid()}`],
        ['Sec-WebSocket-Protocol', `token-${valid()}`],
      ],
    ],
  ])('refuses %s with 401', async (_name, lines) => {
    expect(await raw(...lines())).toEqual({ status: 401, stored: [] });
    await expectStillServing(sentinel);
  });

  it.each<[string, () => Array<readonly [string, string]>]>([
    [
      'a forbidden Origin before an allowed one',
      () => [
        ['Origin', 'https://evil.example.com'],
        ['Origin', ALLOWED[0] as string],
      ],
    ],
    [
      'a forbidden Origin after an allowed one',
      () => [
        ['Origin', ALLOWED[0] as string],
        ['Origin', 'https://evil.example.com'],
      ],
    ],
    [
      '"Origin" forbidden and "origin" allowed',
      () => [
        ['Origin', 'https://evil.example.com'],
        ['origin', ALLOWED[0] as string],
      ],
    ],
  ])('refuses %s with 403', async (_name, lines) => {
    expect(await raw(['Authorization', `Bearer ${valid()}`], ...lines())).toEqual({
      status: 403,
      stored: [],
    });
    await expectStillServing(sentinel);
  });
});

describe('afterwards', () => {
  it('the stack still serves, and its logs hold no token, no planted claim and no jose error', async () => {
    await expectStillServing(sentinel);
    const logs = suite.stack.logs();
    expect(logs).toMatch(/handshake refused/);
    expectCleanLogs(logs, watch);
  });
});
