/**
 * Hostile tokens against the real local stack (PROTOCOL §2): every forged, tampered, malformed or
 * misplaced token is refused with HTTP 401, opens no WebSocket, stores no `conn#` item, and the
 * stack keeps serving. The stack has an HS256 secret beside a JWKS URL (a loopback server), and
 * requires `iss` and `aud`. Its logs end up holding no token and no claim.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  forgeJwt,
  LeakWatch,
  nowSeconds,
  omit,
  plantedClaims,
  RawJson,
  segment,
} from '../support/hostile-jwt.js';
import {
  attemptHandshake,
  expectCleanLogs,
  expectStillServing,
  type HandshakeOptions,
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

const ISSUER = 'https://issuer.switchboard.test/';
const AUDIENCE = 'switchboard-hostile';
/** The secret the stack used before a rotation to TEST_SECRET. */
const ROTATED_OUT_SECRET = 'the-previous-secret-of-at-least-32-bytes-long';

const watch = new LeakWatch();
const attacker = rsaKey('attacker-key');
let jwks: JwksServer;
let trap: RecordingServer;
const suite = useHostileStack(async () => {
  [jwks, trap] = await Promise.all([startJwksServer(), startRecordingServer()]);
  return {
    SWITCHBOARD_AUTH_JWKS_URL: jwks.jwksUrl,
    SWITCHBOARD_AUTH_ISSUER: ISSUER,
    SWITCHBOARD_AUTH_AUDIENCE: AUDIENCE,
  };
});
let sentinel: TestClient;
const clients: TestClient[] = [];

type Claims = Record<string, unknown>;

/** A claim set the main stack accepts, with recognisable planted values, and `overrides` on top. */
const claims = (overrides: Claims = {}): Claims =>
  plantedClaims(watch, { iss: ISSUER, aud: AUDIENCE, ...overrides });

/** HS256 with the stack's secret: everything is right but what the case changes. */
const hs = (payload: unknown, header: Claims = {}) =>
  forgeJwt({ alg: 'HS256', typ: 'JWT', ...header }, payload, { hmac: TEST_SECRET });
/** RS256 with the JWKS server's key. */
const rs = (payload: unknown, header: Claims = {}) =>
  forgeJwt({ alg: 'RS256', typ: 'JWT', kid: jwks.key.kid, ...header }, payload, {
    rsa: jwks.key.privateKey,
  });
/** RS256 with a key of the attacker's, which no configured JWKS holds. */
const rsAttacker = (payload: unknown, header: Claims = {}) =>
  forgeJwt({ alg: 'RS256', typ: 'JWT', kid: attacker.kid, ...header }, payload, {
    rsa: attacker.privateKey,
  });

/** A validly signed token of exactly `bytes` bytes (its size is all that is wrong with it, if anything). */
function tokenOfLength(bytes: number): string {
  const base = claims();
  for (let kid = 0; kid < 4; kid += 1) {
    for (let pad = 0; pad < bytes; pad += 1) {
      const token = hs({ ...base, pad: 'p'.repeat(pad) }, { kid: 'k'.repeat(kid + 1) });
      if (token.length === bytes) return token;
      if (token.length > bytes) break;
    }
  }
  throw new Error(`no token of exactly ${bytes} bytes`);
}

function query(params: string): string {
  return `${suite.stack.websocketUrl}?${params}`;
}

/** The documented refusal: 401, no WebSocket, no `conn#` item, and the stack still serves. */
async function expectRefused(options: HandshakeOptions, url = suite.stack.websocketUrl): Promise<void> {
  const outcome = await attemptHandshake(suite.probe, url, options);
  expect(outcome).toEqual({ status: 401, stored: [] });
  await expectStillServing(sentinel);
}

async function admitted(token: string): Promise<TestClient> {
  const client = await TestClient.connect(suite.stack.websocketUrl, { token: watch.sent(token) });
  clients.push(client);
  return client;
}

beforeAll(async () => {
  sentinel = await TestClient.connect(suite.stack.websocketUrl, { token: watch.sent(hs(claims())) });
});

afterAll(async () => {
  await Promise.all([...clients, sentinel].map((c) => c?.close()));
  await Promise.all([jwks?.close(), trap?.close()]);
});

describe('controls: what the main stack admits', () => {
  it('admits an HS256 token with the configured iss and aud, and stores its connection', async () => {
    const outcome = await attemptHandshake(suite.probe, suite.stack.websocketUrl, {
      token: watch.sent(hs(claims())),
    });
    expect(outcome.status).toBe(101);
    expect(outcome.stored).toHaveLength(1);
  });

  it('admits an RS256 token signed with the key the JWKS URL publishes', async () => {
    const outcome = await attemptHandshake(suite.probe, suite.stack.websocketUrl, {
      token: watch.sent(rs(claims())),
    });
    expect(outcome.status).toBe(101);
    expect(outcome.stored).toHaveLength(1);
  });

  it('admits a token of exactly 4,096 bytes, the largest allowed', async () => {
    const token = tokenOfLength(4096);
    expect(
      await attemptHandshake(suite.probe, suite.stack.websocketUrl, { token: watch.sent(token) }),
    ).toMatchObject({
      status: 101,
    });
  });

  it('admits the same token given in all three places at once', async () => {
    const token = watch.sent(hs(claims()));
    const outcome = await attemptHandshake(suite.probe, suite.stack.websocketUrl, {
      token,
      headers: { Authorization: `Bearer ${token}` },
      protocols: [`token-${token}`],
    });
    expect(outcome.status).toBe(101);
  });
});

type TokenCase = [name: string, make: () => string];

describe('algorithm tricks are refused with 401', () => {
  const cases: TokenCase[] = [
    ['alg "none" with an empty signature', () => forgeJwt({ alg: 'none' }, claims(), { signature: '' })],
    ['alg "None"', () => forgeJwt({ alg: 'None' }, claims(), { signature: '' })],
    ['alg "NONE"', () => forgeJwt({ alg: 'NONE' }, claims(), { signature: '' })],
    ['alg "nOnE"', () => forgeJwt({ alg: 'nOnE', typ: 'JWT' }, claims(), { signature: '' })],
    [
      'alg "none" keeping a valid HS256 signature',
      () => forgeJwt({ alg: 'none' }, claims(), { hmac: TEST_SECRET }),
    ],
    ['alg "none" with only two segments', () => `${segment({ alg: 'none' })}.${segment(claims())}`],
    ['alg "hs256" (lower case), signed with the secret', () => hs(claims(), { alg: 'hs256' })],
    [
      'alg HS384, correctly signed with the secret',
      () => forgeJwt({ alg: 'HS384' }, claims(), { hmac: TEST_SECRET, hash: 'sha384' }),
    ],
    [
      'alg HS512, correctly signed with the secret',
      () => forgeJwt({ alg: 'HS512' }, claims(), { hmac: TEST_SECRET, hash: 'sha512' }),
    ],
    ['no alg in the header', () => forgeJwt({ typ: 'JWT' }, claims(), { hmac: TEST_SECRET })],
    ['alg as an array ["HS256"]', () => forgeJwt({ alg: ['HS256'] }, claims(), { hmac: TEST_SECRET })],
    ['alg null', () => forgeJwt({ alg: null }, claims(), { hmac: TEST_SECRET })],
    [
      'alg RS512, correctly signed with the JWKS key',
      () =>
        forgeJwt({ alg: 'RS512', kid: jwks.key.kid }, claims(), { rsa: jwks.key.privateKey, hash: 'sha512' }),
    ],
    ['alg PS256 with a made-up signature', () => forgeJwt({ alg: 'PS256' }, claims(), { signature: 'AAAA' })],
    ['alg EdDSA with a made-up signature', () => forgeJwt({ alg: 'EdDSA' }, claims(), { signature: 'AAAA' })],
  ];

  it.each(cases)('%s', async (_name, make) => {
    await expectRefused({ token: watch.sent(make()) });
  });
});

describe('HS/RS key confusion is refused with 401 (secret and JWKS both configured)', () => {
  const pem = () => jwks.key.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const cases: TokenCase[] = [
    [
      'HS256 keyed with the JWKS public key as SPKI PEM',
      () => forgeJwt({ alg: 'HS256' }, claims(), { hmac: pem() }),
    ],
    [
      'HS256 keyed with the JWKS public key as PKCS#1 PEM',
      () =>
        forgeJwt({ alg: 'HS256' }, claims(), {
          hmac: jwks.key.publicKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
        }),
    ],
    [
      'HS256 keyed with the JWKS public key as JWK JSON',
      () => forgeJwt({ alg: 'HS256' }, claims(), { hmac: JSON.stringify(jwks.key.jwk) }),
    ],
    [
      'HS256 keyed with the JWKS public key as DER bytes',
      () =>
        forgeJwt({ alg: 'HS256' }, claims(), {
          hmac: jwks.key.publicKey.export({ type: 'spki', format: 'der' }),
        }),
    ],
    [
      "HS256 keyed with the public key PEM and naming the JWKS key's kid",
      () => forgeJwt({ alg: 'HS256', kid: jwks.key.kid }, claims(), { hmac: pem() }),
    ],
    [
      'an RS256 signature relabelled as HS256',
      () => forgeJwt({ alg: 'HS256', kid: jwks.key.kid }, claims(), { rsa: jwks.key.privateKey }),
    ],
  ];

  it.each(cases)('%s', async (_name, make) => {
    await expectRefused({ token: watch.sent(make()) });
  });
});

describe('unknown or hostile kid values are refused with 401, and never name a key', () => {
  const cases: TokenCase[] = [
    [
      'kid "../../../../dev/null" with an empty HMAC key',
      () => forgeJwt({ alg: 'HS256', kid: '../../../../dev/null' }, claims(), { hmac: '' }),
    ],
    [
      'kid "/proc/self/environ" with an empty HMAC key',
      () => forgeJwt({ alg: 'HS256', kid: '/proc/self/environ' }, claims(), { hmac: '' }),
    ],
    [
      "kid \"x' UNION SELECT 'attacker-key' --\" keyed with attacker-key",
      () =>
        forgeJwt({ alg: 'HS256', kid: "x' UNION SELECT 'attacker-key' --" }, claims(), {
          hmac: 'attacker-key',
        }),
    ],
    [
      "kid \"' OR '1'='1\" with an empty HMAC key",
      () => forgeJwt({ alg: 'HS256', kid: "' OR '1'='1" }, claims(), { hmac: '' }),
    ],
    [
      'kid as a NoSQL operator object {"$ne": null}',
      () => forgeJwt({ alg: 'HS256', kid: { $ne: null } }, claims(), { hmac: 'attacker-key' }),
    ],
    [
      'kid with NUL and CR/LF header-injection characters',
      () => forgeJwt({ alg: 'HS256', kid: 'a\u0000\r\nX-Injected: 1' }, claims(), { hmac: 'attacker-key' }),
    ],
    [
      'a 2,000-character kid (the token stays under 4 KB)',
      () => forgeJwt({ alg: 'HS256', kid: 'k'.repeat(2000) }, claims(), { hmac: 'attacker-key' }),
    ],
    ['an unknown kid on RS256 signed with the real JWKS key', () => rs(claims(), { kid: 'no-such-key' })],
    [
      'a path-traversal kid on RS256 signed with the real JWKS key',
      () => rs(claims(), { kid: '../../../etc/passwd' }),
    ],
    [
      "the JWKS key's kid on a token signed with the attacker's key",
      () => rsAttacker(claims(), { kid: jwks.key.kid }),
    ],
    ['no kid at all on a token signed with the attacker key', () => rsAttacker(claims(), { kid: undefined })],
  ];

  it.each(cases)('%s', async (_name, make) => {
    await expectRefused({ token: watch.sent(make()) });
  });

  it('a 6,000-character kid in the Authorization header (over 4 KB) is refused', async () => {
    const token = watch.sent(
      forgeJwt({ alg: 'HS256', kid: 'k'.repeat(6000) }, claims(), { hmac: TEST_SECRET }),
    );
    await expectRefused({ headers: { Authorization: `Bearer ${token}` } });
  });
});

describe('jku, x5u, jwk and x5c headers are refused with 401, and nothing is fetched', () => {
  const trapUrl = (path: string) => `${trap.url}${path}`;
  const cases: TokenCase[] = [
    ["jku pointing at the attacker's JWKS", () => rsAttacker(claims(), { jku: trapUrl('/jwks.json') })],
    ["x5u pointing at the attacker's certificate", () => rsAttacker(claims(), { x5u: trapUrl('/cert.pem') })],
    ["an embedded jwk of the attacker's public key", () => rsAttacker(claims(), { jwk: attacker.jwk })],
    [
      'an embedded x5c chain',
      () => rsAttacker(claims(), { x5c: [Buffer.from('not a cert').toString('base64')] }),
    ],
    ['a kid that is a URL', () => rsAttacker(claims(), { kid: trapUrl('/kid') })],
    [
      'HS256 with an attacker secret and a jku',
      () => forgeJwt({ alg: 'HS256', jku: trapUrl('/jwks.json') }, claims(), { hmac: 'attacker-secret' }),
    ],
    [
      'jku marked critical, signed with the real secret',
      () => hs(claims(), { jku: trapUrl('/jwks.json'), crit: ['jku'] }),
    ],
    [
      'an unencoded payload (b64: false, critical), signed with the real secret',
      () => hs(claims(), { b64: false, crit: ['b64'] }),
    ],
  ];

  it.each(cases)('%s', async (_name, make) => {
    await expectRefused({ token: watch.sent(make()) });
    expect(trap.requests).toEqual([]);
  });

  it('ignores jku and x5u on a token signed with the real secret: admitted, and nothing fetched', async () => {
    const token = hs(claims(), { jku: trapUrl('/jwks.json'), x5u: trapUrl('/cert.pem') });
    expect(
      await attemptHandshake(suite.probe, suite.stack.websocketUrl, { token: watch.sent(token) }),
    ).toMatchObject({
      status: 101,
    });
    expect(trap.requests).toEqual([]);
  });
});

describe('bad exp, nbf and iat are refused with 401', () => {
  const now = nowSeconds;
  const cases: TokenCase[] = [
    ['no exp', () => hs(omit(claims(), 'exp'))],
    ['a huge exp (1e300)', () => hs(claims({ exp: 1e300 }))],
    ['exp = Number.MAX_SAFE_INTEGER', () => hs(claims({ exp: Number.MAX_SAFE_INTEGER }))],
    [
      'exp = 1e400 (Infinity once parsed)',
      () => hs(new RawJson(JSON.stringify(omit(claims(), 'exp')).replace(/}$/, ',"exp":1e400}'))),
    ],
    ['a negative exp', () => hs(claims({ exp: -1 }))],
    ['exp = 0', () => hs(claims({ exp: 0 }))],
    ['exp as a numeric string', () => hs(claims({ exp: String(now() + 600) }))],
    ['exp null', () => hs(claims({ exp: null }))],
    ['exp true', () => hs(claims({ exp: true }))],
    ['exp as an object', () => hs(claims({ exp: {} }))],
    ['exp as an array', () => hs(claims({ exp: [now() + 600] }))],
    [
      'an exp 60 s in the past (beyond the 30 s tolerance)',
      () => hs(claims({ iat: now() - 600, exp: now() - 60 })),
    ],
    ['a lifetime over the 24 h cap', () => hs(claims({ exp: now() + 25 * 3600 }))],
    [
      'a backdated iat stretching the lifetime (iat 30 days ago)',
      () => hs(claims({ iat: now() - 30 * 86400 })),
    ],
    ['a negative iat', () => hs(claims({ iat: -1e12 }))],
    ['an nbf an hour ahead', () => hs(claims({ nbf: now() + 3600 }))],
    ['an nbf two minutes ahead (beyond the tolerance)', () => hs(claims({ nbf: now() + 120 }))],
    ['nbf as a string', () => hs(claims({ nbf: String(now()) }))],
    ['an iat an hour ahead', () => hs(claims({ iat: now() + 3600, exp: now() + 4000 }))],
    ['an iat two minutes ahead (beyond the tolerance)', () => hs(claims({ iat: now() + 120 }))],
    ['iat as a string', () => hs(claims({ iat: String(now()) }))],
  ];

  it.each(cases)('%s', async (_name, make) => {
    await expectRefused({ token: watch.sent(make()) });
  });
});

describe('a wrong iss or aud is refused with 401 (both are configured)', () => {
  const cases: TokenCase[] = [
    ['no iss', () => hs(omit(claims(), 'iss'))],
    ['another iss', () => hs(claims({ iss: 'https://evil.test/' }))],
    ['the iss without its trailing slash', () => hs(claims({ iss: ISSUER.slice(0, -1) }))],
    ['the iss in upper case', () => hs(claims({ iss: ISSUER.toUpperCase() }))],
    ['the iss with a trailing space', () => hs(claims({ iss: `${ISSUER} ` }))],
    ['the iss inside an array', () => hs(claims({ iss: [ISSUER] }))],
    ['no aud', () => hs(omit(claims(), 'aud'))],
    ['another aud', () => hs(claims({ aud: 'another-service' }))],
    ['an aud array without ours', () => hs(claims({ aud: ['another-service', 'a-third'] }))],
    ['the aud in upper case', () => hs(claims({ aud: AUDIENCE.toUpperCase() }))],
    ['the aud with a suffix', () => hs(claims({ aud: `${AUDIENCE}-extra` }))],
    ['aud as an object', () => hs(claims({ aud: { value: AUDIENCE } }))],
    ['a correct iss/aud on RS256 signed with the attacker key', () => rsAttacker(claims())],
  ];

  it.each(cases)('%s', async (_name, make) => {
    await expectRefused({ token: watch.sent(make()) });
  });
});

describe('payloads and claims of the wrong shape are refused with 401', () => {
  const cases: TokenCase[] = [
    ['a payload that is an array', () => hs([claims()])],
    ['a payload that is a string', () => hs('alice')],
    ['a payload that is a number', () => hs(42)],
    ['a payload that is null', () => hs(null)],
    ['a payload that is true', () => hs(true)],
    ['a payload that is not JSON', () => hs(new RawJson('not json at all'))],
    ['an empty payload', () => hs(new RawJson(''))],
    ['a truncated JSON payload', () => hs(new RawJson('{"sub":"x","exp":'))],
    ['a header that is an array', () => forgeJwt(new RawJson('["HS256"]'), claims(), { hmac: TEST_SECRET })],
    ['no sub', () => hs(omit(claims(), 'sub'))],
    ['sub as a number', () => hs(claims({ sub: 12345 }))],
    ['an empty sub', () => hs(claims({ sub: '' }))],
    ['a 257-character sub', () => hs(claims({ sub: `${watch.plant('sub')}${'s'.repeat(240)}` }))],
    ['sub as an array', () => hs(claims({ sub: [watch.plant('sub')] }))],
    ['roles as a string', () => hs(claims({ roles: 'admin' }))],
    ['roles holding a number', () => hs(claims({ roles: [1] }))],
    ['51 roles', () => hs(claims({ roles: Array.from({ length: 51 }, (_, i) => `r${i}`) }))],
    ['a 65-character role', () => hs(claims({ roles: ['r'.repeat(65)] }))],
    ['role as an array', () => hs(claims({ role: ['admin'] }))],
    [
      'roles as an object with a __proto__ key',
      () =>
        hs(
          new RawJson(
            JSON.stringify(omit(claims(), 'roles')).replace(/}$/, ',"roles":{"__proto__":["admin"]}}'),
          ),
        ),
    ],
    ['email as a number', () => hs(claims({ email: 42 }))],
    ['a 321-character email', () => hs(claims({ email: `${'e'.repeat(300)}@${watch.plant('email')}.io` }))],
    ['a tenant with a key delimiter "acme#globex"', () => hs(claims({ tenant: 'acme#globex' }))],
    ['an empty tenant', () => hs(claims({ tenant: '' }))],
    ['a 129-character tenant', () => hs(claims({ tenant: 't'.repeat(129) }))],
    ['a tenant with a trailing space', () => hs(claims({ tenant: 'globex ' }))],
    ['a tenant as a number', () => hs(claims({ tenant: 7 }))],
  ];

  it.each(cases)('%s', async (_name, make) => {
    await expectRefused({ token: watch.sent(make()) });
  });
});

describe('__proto__ and constructor claims pollute nothing', () => {
  /** A claim set as JSON text with a hostile key appended (JSON.stringify would drop `__proto__`). */
  const withKey = (sub: string, key: string, value: unknown) =>
    new RawJson(
      JSON.stringify(omit(claims({ sub }), 'roles', 'email')).replace(
        /}$/,
        `,"${key}":${JSON.stringify(value)}}`,
      ),
    );

  it.each([
    ['__proto__', { roles: ['admin'], tenant: 'globex', email: 'x@y.z', polluted: 'yes' }],
    ['constructor', { prototype: { roles: ['admin'], tenant: 'globex', polluted: 'yes' } }],
  ])('a token with a %s claim connects as a plain user: no admin role, no tenant', async (key, value) => {
    // Prepare
    const sub = watch.plant('sub');
    const client = await admitted(hs(withKey(sub, key, value)));
    // Act
    const whoami = await client.request({ action: 'whoami' });
    const stats = await client.request({ action: 'stats' });
    const system = await client.request({ action: 'subscribe', channel: 'system:ops' });
    // Assess
    expect(whoami.user).toEqual({ userId: sub, roles: [] });
    expect(stats).toMatchObject({ type: 'error', code: 'unauthorized' });
    expect(system).toMatchObject({ type: 'error', code: 'subscription_failed', channel: 'system:ops' });
    await client.close();
  });

  it('afterwards, a normal token still works and its user has exactly its own claims', async () => {
    // Prepare
    const sub = watch.plant('sub');
    const client = await admitted(hs(omit(claims({ sub }), 'roles', 'email')));
    // Act
    const whoami = await client.request({ action: 'whoami' });
    const stats = await client.request({ action: 'stats' });
    const system = await client.request({ action: 'subscribe', channel: 'system:ops' });
    const own = await client.request({ action: 'subscribe', channel: `user:${sub}` });
    // Assess
    expect(whoami.user).toEqual({ userId: sub, roles: [] });
    expect(whoami.authorizedChannels).toEqual(['announcements', `user:${sub}`, '*']);
    expect(stats).toMatchObject({ type: 'error', code: 'unauthorized' });
    expect(system).toMatchObject({ type: 'error', code: 'subscription_failed' });
    expect(own).toMatchObject({ type: 'subscribed', channel: `user:${sub}` });
    await client.close();
    await expectStillServing(sentinel);
  });
});

describe('oversized tokens (over 4 KB) are refused with 401 wherever they are', () => {
  it.each([
    ['in the query string', (t: string): HandshakeOptions => ({ token: t })],
    [
      'in the Authorization header',
      (t: string): HandshakeOptions => ({ headers: { Authorization: `Bearer ${t}` } }),
    ],
    ['as a token- subprotocol', (t: string): HandshakeOptions => ({ protocols: [`token-${t}`] })],
  ])('a validly signed 4,097-byte token %s', async (_name, place) => {
    await expectRefused(place(watch.sent(tokenOfLength(4097))));
  });

  it('a validly signed 12 KB token', async () => {
    const token = watch.sent(hs(claims({ pad: 'p'.repeat(9000) })));
    expect(token.length).toBeGreaterThan(12_000);
    await expectRefused({ token });
  });
});

describe('tokens in several places, or odd query strings, are refused with 401', () => {
  const two = () => [watch.sent(hs(claims())), watch.sent(hs(claims()))] as const;
  const cases: Array<[string, () => HandshakeOptions | string]> = [
    [
      'two different tokens: query and header',
      () => {
        const [a, b] = two();
        return { token: a, headers: { Authorization: `Bearer ${b}` } };
      },
    ],
    [
      'two different tokens: query and subprotocol',
      () => {
        const [a, b] = two();
        return { token: a, protocols: [`token-${b}`] };
      },
    ],
    [
      'two different tokens: header and subprotocol',
      () => {
        const [a, b] = two();
        return { headers: { Authorization: `Bearer ${a}` }, protocols: [`token-${b}`, 'switchboard.v1'] };
      },
    ],
    [
      'two different tokens: two subprotocols',
      () => {
        const [a, b] = two();
        return { protocols: [`token-${a}`, `token-${b}`] };
      },
    ],
    [
      'a valid token in the query and garbage in the header',
      () => ({
        token: watch.sent(hs(claims())),
        headers: { Authorization: 'Bearer garbage.garbage.garbage' },
      }),
    ],
    [
      'two different tokens: ?token= twice',
      () => {
        const [a, b] = two();
        return query(`token=${a}&token=${b}`);
      },
    ],
    ['an empty ?token=', () => query('token=')],
    ['a bare ?token', () => query('token')],
    ['an empty ?token= before a valid one', () => query(`token=&token=${watch.sent(hs(claims()))}`)],
    ['an empty ?token= after a valid one', () => query(`token=${watch.sent(hs(claims()))}&token=`)],
    [
      'a valid token under ?Token= (names are case-sensitive)',
      () => query(`Token=${watch.sent(hs(claims()))}`),
    ],
    ['a valid token under ?token[]=', () => query(`token[]=${watch.sent(hs(claims()))}`)],
    ['a valid token after an encoded space', () => query(`token=%20${watch.sent(hs(claims()))}`)],
    ['a valid token followed by an encoded NUL', () => query(`token=${watch.sent(hs(claims()))}%00`)],
  ];

  it.each(cases)('%s', async (_name, make) => {
    const target = make();
    if (typeof target === 'string') await expectRefused({}, target);
    else await expectRefused(target);
  });
});

describe('tokens signed with another secret, or of the wrong structure, are refused with 401', () => {
  const cases: TokenCase[] = [
    [
      'signed with the secret used before rotation',
      () => forgeJwt({ alg: 'HS256' }, claims(), { hmac: ROTATED_OUT_SECRET }),
    ],
    [
      'signed with the secret plus one character',
      () => forgeJwt({ alg: 'HS256' }, claims(), { hmac: `${TEST_SECRET}x` }),
    ],
    [
      'signed with the first 32 bytes of the secret',
      () => forgeJwt({ alg: 'HS256' }, claims(), { hmac: TEST_SECRET.slice(0, 32) }),
    ],
    [
      'signed with a hash of the secret',
      () => forgeJwt({ alg: 'HS256' }, claims(), { hmac: createHash('sha256').update(TEST_SECRET).digest() }),
    ],
    ['three empty segments', () => '..'],
    ['three garbage segments', () => 'a.b.c'],
    ['four segments', () => `${hs(claims())}.extra`],
    ['five segments (shaped like a JWE)', () => `${segment({ alg: 'dir', enc: 'A256GCM' })}....`],
    ['a valid token with its signature removed', () => hs(claims()).replace(/\.[^.]+$/, '.')],
    [
      'a valid token with its payload swapped for another',
      () => {
        const [header, , signature] = hs(claims()).split('.');
        return `${header}.${segment(claims({ roles: ['admin'] }))}.${signature}`;
      },
    ],
    ['a JSON header where the token should be', () => JSON.stringify({ alg: 'none' })],
  ];

  it.each(cases)('%s', async (_name, make) => {
    await expectRefused({ token: watch.sent(make()) });
  });
});

describe('the token exchange refuses the same hostile tokens with 401 and the documented body', () => {
  const exchange = (token: string) =>
    fetch(`${suite.stack.baseUrl}/api/v1/auth`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}` },
    });
  const cases: TokenCase[] = [
    ['alg "none"', () => forgeJwt({ alg: 'none' }, claims(), { signature: '' })],
    [
      'HS256 keyed with the JWKS public key PEM',
      () =>
        forgeJwt({ alg: 'HS256' }, claims(), {
          hmac: jwks.key.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
        }),
    ],
    [
      "RS256 signed with the attacker's key and a jku",
      () => rsAttacker(claims(), { jku: `${trap.url}/jwks.json` }),
    ],
    ['an expired token', () => hs(claims({ iat: nowSeconds() - 600, exp: nowSeconds() - 60 }))],
    ['a token for another audience', () => hs(claims({ aud: 'another-service' }))],
    ['a payload that is an array', () => hs([claims()])],
    ['a validly signed 4,097-byte token', () => tokenOfLength(4097)],
    [
      'a token signed with the secret used before rotation',
      () => forgeJwt({ alg: 'HS256' }, claims(), { hmac: ROTATED_OUT_SECRET }),
    ],
  ];

  it.each(cases)('%s', async (_name, make) => {
    const response = await exchange(watch.sent(make()));
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({
      success: false,
      error: { code: 'unauthorized', message: expect.any(String) },
    });
    expect(trap.requests).toEqual([]);
  });

  it('exchanges a valid token for a short one carrying the configured iss and aud (control)', async () => {
    const response = await exchange(watch.sent(hs(claims())));
    const body = (await response.json()) as { data: { token: string } };
    watch.sent(body.data.token);
    expect(response.status).toBe(200);
    expect(
      (await attemptHandshake(suite.probe, suite.stack.websocketUrl, { token: body.data.token })).status,
    ).toBe(101);
  });
});

describe('the token exchange cannot extend a session (PROTOCOL §2)', () => {
  const exchange = (token: string) =>
    fetch(`${suite.stack.baseUrl}/api/v1/auth`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}` },
    });
  /** Exchanges `token` and expects a short token back. */
  async function shortTokenFor(token: string): Promise<{ token: string; expiresIn: number }> {
    const response = await exchange(watch.sent(token));
    expect(response.status).toBe(200);
    const { data } = (await response.json()) as { data: { token: string; expires_in: number } };
    return { token: watch.sent(data.token), expiresIn: data.expires_in };
  }
  const payloadOf = (token: string): Claims =>
    JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'));
  const expectUnauthorized = async (response: Response) => {
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({
      success: false,
      error: { code: 'unauthorized', message: expect.any(String) },
    });
  };

  it('refuses a token the exchange issued with 401, though the handshake admits it', async () => {
    // Prepare
    const short = await shortTokenFor(hs(claims()));
    // Act
    const again = await exchange(short.token);
    // Assess
    await expectUnauthorized(again);
    expect(
      (await attemptHandshake(suite.probe, suite.stack.websocketUrl, { token: short.token })).status,
    ).toBe(101);
  });

  it('refuses a main token that carries the exchange mark itself, whatever its value', async () => {
    for (const mark of [true, false, null, 'main']) {
      await expectUnauthorized(await exchange(watch.sent(hs(claims({ 'urn:switchboard:exchanged': mark })))));
    }
  });

  it('gives a main token with 20 s left a short token that ends with it, not 60 s later', async () => {
    // Prepare
    const mainExp = nowSeconds() + 20;
    // Act
    const short = await shortTokenFor(hs(claims({ iat: nowSeconds() - 600, exp: mainExp })));
    // Assess
    expect(payloadOf(short.token).exp).toBeLessThanOrEqual(mainExp);
    expect(short.expiresIn).toBeGreaterThan(0);
    expect(short.expiresIn).toBeLessThanOrEqual(20);
  });

  it('refuses a main token that has expired but is still inside the clock tolerance', async () => {
    const token = hs(claims({ iat: nowSeconds() - 600, exp: nowSeconds() - 5 }));
    await expectUnauthorized(await exchange(watch.sent(token)));
  });

  it('gives a fresh main token a short token of the configured 60 s, marked as exchanged', async () => {
    const short = await shortTokenFor(hs(claims()));
    const payload = payloadOf(short.token);
    expect(short.expiresIn).toBe(60);
    expect(Number(payload.exp) - Number(payload.iat)).toBe(60);
    expect(payload['urn:switchboard:exchanged']).toBe(true);
  });
});

describe('afterwards', () => {
  it('the JWKS server was asked for its configured path only, and the trap for nothing', () => {
    expect(jwks.requests.length).toBeGreaterThan(0);
    expect(jwks.requests.filter((r) => r !== `GET ${JWKS_PATH}`)).toEqual([]);
    expect(trap.requests).toEqual([]);
  });

  it('the stack still serves, and its logs hold no token, no planted claim and no jose error', async () => {
    await expectStillServing(sentinel);
    const logs = suite.stack.logs();
    expect(logs).toMatch(/handshake refused/);
    expectCleanLogs(logs, watch);
  });
});
