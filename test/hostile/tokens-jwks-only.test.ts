/**
 * Hostile tokens against a local stack configured with a JWKS URL only (no HS256 secret), which
 * PROTOCOL §1–§2 allow ("instead of, or beside, the secret"): HS256 tokens of any key, `alg: none`
 * and keys the JWKS does not publish are refused with 401, and nothing is fetched from elsewhere.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forgeJwt, LeakWatch, plantedClaims } from '../support/hostile-jwt.js';
import {
  attemptHandshake,
  expectCleanLogs,
  expectStillServing,
  JWKS_PATH,
  type JwksServer,
  type RecordingServer,
  rsaKey,
  startJwksServer,
  startRecordingServer,
  useHostileStack,
} from '../support/hostile-stack.js';
import { TEST_SECRET } from '../support/local-stack.js';
import { TestClient } from '../support/ws-client.js';

const watch = new LeakWatch();
const attacker = rsaKey('attacker-key');
let jwks: JwksServer;
let trap: RecordingServer;
const suite = useHostileStack(async () => {
  [jwks, trap] = await Promise.all([startJwksServer(), startRecordingServer()]);
  // An empty secret means "none": this stack knows only the JWKS URL.
  return { SWITCHBOARD_AUTH_JWKS_URL: jwks.jwksUrl, SWITCHBOARD_AUTH_SECRET: '' };
});
let sentinel: TestClient;

const claims = () => plantedClaims(watch);
const rs = (payload: unknown, header: Record<string, unknown> = {}) =>
  forgeJwt({ alg: 'RS256', kid: jwks.key.kid, ...header }, payload, { rsa: jwks.key.privateKey });
const pem = () => jwks.key.publicKey.export({ type: 'spki', format: 'pem' }).toString();

beforeAll(async () => {
  sentinel = await TestClient.connect(suite.stack.websocketUrl, { token: watch.sent(rs(claims())) });
});

afterAll(async () => {
  await sentinel?.close();
  await Promise.all([jwks?.close(), trap?.close()]);
});

describe('a stack configured with a JWKS URL only', () => {
  it('admits an RS256 token signed with the key its JWKS publishes (control)', async () => {
    const outcome = await attemptHandshake(suite.probe, suite.stack.websocketUrl, {
      token: watch.sent(rs(claims())),
    });
    expect(outcome.status).toBe(101);
    expect(outcome.stored).toHaveLength(1);
  });

  const cases: Array<[string, () => string]> = [
    [
      'an HS256 token signed with a secret it was never given',
      () => forgeJwt({ alg: 'HS256' }, claims(), { hmac: TEST_SECRET }),
    ],
    [
      'an HS256 token keyed with the JWKS public key as PEM',
      () => forgeJwt({ alg: 'HS256' }, claims(), { hmac: pem() }),
    ],
    [
      'an HS256 token keyed with the JWKS public key as JWK JSON',
      () => forgeJwt({ alg: 'HS256', kid: jwks.key.kid }, claims(), { hmac: JSON.stringify(jwks.key.jwk) }),
    ],
    ['an HS256 token keyed with an empty key', () => forgeJwt({ alg: 'HS256' }, claims(), { hmac: '' })],
    ['alg "none"', () => forgeJwt({ alg: 'none' }, claims(), { signature: '' })],
    ['an RS256 token with a kid the JWKS does not have', () => rs(claims(), { kid: 'unknown' })],
    [
      "an RS256 token signed with the attacker's key, pointing jku at the attacker's JWKS",
      () =>
        forgeJwt({ alg: 'RS256', kid: attacker.kid, jku: `${trap.url}/jwks.json` }, claims(), {
          rsa: attacker.privateKey,
        }),
    ],
    [
      "an RS256 token signed with the attacker's key, embedding its jwk",
      () => forgeJwt({ alg: 'RS256', jwk: attacker.jwk }, claims(), { rsa: attacker.privateKey }),
    ],
  ];

  it.each(cases)('refuses %s with 401', async (_name, make) => {
    const outcome = await attemptHandshake(suite.probe, suite.stack.websocketUrl, {
      token: watch.sent(make()),
    });
    expect(outcome).toEqual({ status: 401, stored: [] });
    await expectStillServing(sentinel);
    expect(trap.requests).toEqual([]);
  });

  it('asked the JWKS server for its configured path only, and the trap for nothing', () => {
    expect(jwks.requests.filter((r) => r !== `GET ${JWKS_PATH}`)).toEqual([]);
    expect(trap.requests).toEqual([]);
  });

  it('still serves, and its logs hold no token, no planted claim and no jose error', async () => {
    await expectStillServing(sentinel);
    const logs = suite.stack.logs();
    expect(logs).toMatch(/handshake refused/);
    expectCleanLogs(logs, watch);
  });
});
