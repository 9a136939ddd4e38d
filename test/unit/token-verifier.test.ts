import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lazyVerifier } from '../../adapters/auth.js';
import {
  createTokenVerifier,
  EXCHANGED_CLAIM,
  MAX_TOKEN_BYTES,
  signToken,
} from '../../adapters/token-verifier.js';
import { TokenRejectedError } from '../../core/identity.js';

const SECRET = 'a-test-secret-that-is-at-least-32-bytes-long';
const key = new TextEncoder().encode(SECRET);
const now = () => Math.floor(Date.now() / 1000);
const verifier = createTokenVerifier({ secret: SECRET, maxTokenLifetimeSeconds: 3600 });

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

async function reason(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof TokenRejectedError) return error.reason;
    throw error;
  }
  throw new Error('expected the token to be rejected');
}

const hs256 = (claims: Record<string, unknown>) =>
  new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(key);

describe('token verification', () => {
  it('accepts a well-formed HS256 token and maps its claims', async () => {
    // Prepare
    const token = await hs256({
      sub: 'alice',
      exp: now() + 600,
      iat: now(),
      roles: ['admin'],
      tenant: 'acme',
      email: 'a@x.io',
    });
    // Act
    const { identity, expiresAt } = await verifier.verify(token);
    // Assess
    expect(identity).toEqual({
      userId: 'alice',
      roles: ['admin'],
      tenant: 'acme',
      email: 'a@x.io',
      anonymous: false,
    });
    expect(expiresAt).toBeGreaterThan(now());
  });

  it('accepts a single role claim as the roles list', async () => {
    const token = await hs256({ sub: 'bob', exp: now() + 60, role: 'ops' });
    expect((await verifier.verify(token)).identity.roles).toEqual(['ops']);
  });

  it('refuses a token without exp', async () => {
    expect(await reason(verifier.verify(await hs256({ sub: 'alice' })))).toBe('claims');
  });

  it('refuses a token without sub', async () => {
    expect(await reason(verifier.verify(await hs256({ exp: now() + 60 })))).toBe('claims');
  });

  it('refuses a token whose exp is far ahead of its iat (lifetime cap)', async () => {
    const token = await hs256({ sub: 'alice', iat: now(), exp: now() + 10 * 3600 });
    expect(await reason(verifier.verify(token))).toBe('lifetime');
  });

  it('refuses a token whose exp is far ahead when it has no iat', async () => {
    expect(await reason(verifier.verify(await hs256({ sub: 'alice', exp: now() + 10 * 3600 })))).toBe(
      'lifetime',
    );
  });

  it('refuses an expired token beyond the 30 s clock tolerance', async () => {
    expect(await reason(verifier.verify(await hs256({ sub: 'alice', exp: now() - 31 })))).toBe('expired');
  });

  it('refuses a token issued in the future', async () => {
    const token = await hs256({ sub: 'alice', iat: now() + 600, exp: now() + 900 });
    expect(await reason(verifier.verify(token))).toBe('claims');
  });

  it('refuses alg none', async () => {
    const token = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'alice', exp: now() + 60 })}.`;
    expect(await reason(verifier.verify(token))).toBe('algorithm');
  });

  it('refuses a token signed with another key', async () => {
    const token = await new SignJWT({ sub: 'alice', exp: now() + 60 })
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode('another-secret-that-is-at-least-32-bytes!!'));
    expect(await reason(verifier.verify(token))).toBe('signature');
  });

  it('refuses HS384/HS512 even with the right secret (explicit allow-list)', async () => {
    const token = await new SignJWT({ sub: 'alice', exp: now() + 60 })
      .setProtectedHeader({ alg: 'HS512' })
      .sign(key);
    expect(await reason(verifier.verify(token))).toBe('algorithm');
  });

  it('refuses an oversized token before parsing it', async () => {
    expect(await reason(verifier.verify('a'.repeat(MAX_TOKEN_BYTES + 1)))).toBe('oversized');
  });

  it('refuses garbage', async () => {
    expect(await reason(verifier.verify('not-a-jwt'))).toBe('malformed');
  });

  it('refuses a tenant that could forge storage keys', async () => {
    expect(await reason(verifier.verify(await hs256({ sub: 'a', exp: now() + 60, tenant: 'acme#x' })))).toBe(
      'claims',
    );
  });

  it('checks iss and aud when configured', async () => {
    // Prepare
    const strict = createTokenVerifier({
      secret: SECRET,
      maxTokenLifetimeSeconds: 3600,
      issuer: 'me',
      audience: 'sb',
    });
    const good = await hs256({ sub: 'a', exp: now() + 60, iss: 'me', aud: 'sb' });
    const wrongIss = await hs256({ sub: 'a', exp: now() + 60, iss: 'evil', aud: 'sb' });
    const noAud = await hs256({ sub: 'a', exp: now() + 60, iss: 'me' });
    // Act / Assess
    expect((await strict.verify(good)).identity.userId).toBe('a');
    expect(await reason(strict.verify(wrongIss))).toBe('claims');
    expect(await reason(strict.verify(noAud))).toBe('claims');
  });

  it('refuses a secret shorter than 32 bytes at construction', () => {
    expect(() => createTokenVerifier({ secret: 'short', maxTokenLifetimeSeconds: 60 })).toThrow(/32 bytes/);
  });

  it('round-trips tokens minted by signToken', async () => {
    const token = await signToken({
      secret: SECRET,
      identity: { userId: 'u', roles: ['r'], tenant: 't' },
      ttlSeconds: 60,
    });
    expect((await verifier.verify(token)).identity).toMatchObject({ userId: 'u', roles: ['r'], tenant: 't' });
  });

  it('tells tokens the exchange signed from the others', async () => {
    // Prepare
    const identity = { userId: 'u', roles: [] };
    const plain = await signToken({ secret: SECRET, identity, ttlSeconds: 60 });
    const exchanged = await signToken({ secret: SECRET, identity, ttlSeconds: 60, exchanged: true });
    const marked = await hs256({ sub: 'u', exp: now() + 60, [EXCHANGED_CLAIM]: false });
    // Act / Assess
    expect((await verifier.verify(plain)).exchanged).toBeUndefined();
    expect((await verifier.verify(exchanged)).exchanged).toBe(true);
    expect((await verifier.verify(marked)).exchanged).toBe(true);
  });
});

describe('token verification with a JWKS URL', () => {
  let url: string;
  let server: ReturnType<typeof createServer>;
  let privateKey: CryptoKey;
  let requests = 0;

  beforeAll(async () => {
    const pair = await generateKeyPair('RS256');
    privateKey = pair.privateKey as CryptoKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    server = createServer((_req, res) => {
      requests += 1;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('accepts an RS256 token signed by a key in the set', async () => {
    const jwks = createTokenVerifier({ jwksUrl: url, maxTokenLifetimeSeconds: 3600 });
    const token = await new SignJWT({ sub: 'carol', exp: now() + 60 })
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .sign(privateKey);
    expect((await jwks.verify(token)).identity.userId).toBe('carol');
  });

  it('refuses an HS256 token when only a JWKS is configured (no HS/RS confusion)', async () => {
    const jwks = createTokenVerifier({ jwksUrl: url, maxTokenLifetimeSeconds: 3600 });
    expect(await reason(jwks.verify(await hs256({ sub: 'a', exp: now() + 60 })))).toBe('algorithm');
  });

  it('never fetches a jku or x5u named in the token header', async () => {
    // Prepare
    const jwks = createTokenVerifier({ jwksUrl: url, maxTokenLifetimeSeconds: 3600 });
    let hostileFetches = 0;
    const hostile = createServer((_req, res) => {
      hostileFetches += 1;
      res.end('{}');
    });
    await new Promise<void>((resolve) => hostile.listen(0, '127.0.0.1', resolve));
    const hostileUrl = `http://127.0.0.1:${(hostile.address() as AddressInfo).port}/keys`;
    const token = await new SignJWT({ sub: 'a', exp: now() + 60 })
      .setProtectedHeader({ alg: 'RS256', kid: 'evil', jku: hostileUrl, x5u: hostileUrl })
      .sign((await generateKeyPair('RS256')).privateKey);
    // Act
    const why = await reason(jwks.verify(token));
    hostile.close();
    // Assess
    expect(why).toBe('signature');
    expect(hostileFetches).toBe(0);
    expect(requests).toBeGreaterThan(0);
  });
});

describe('a verifier built on first use (the message routes, for refresh)', () => {
  it('builds nothing until the first token, then builds once', async () => {
    // Prepare
    let builds = 0;
    const lazy = lazyVerifier(async () => {
      builds += 1;
      return verifier;
    });
    const token = await hs256({ sub: 'alice', exp: now() + 600, iat: now() });
    // Act
    const before = builds;
    const first = await lazy.verify(token);
    await lazy.verify(token);
    // Assess
    expect(before).toBe(0);
    expect(builds).toBe(1);
    expect(first.identity.userId).toBe('alice');
  });

  it('tries again on the next token when building failed', async () => {
    // Prepare
    let builds = 0;
    const lazy = lazyVerifier(async () => {
      builds += 1;
      if (builds === 1) throw new Error('Secrets Manager unavailable');
      return verifier;
    });
    const token = await hs256({ sub: 'bob', exp: now() + 600, iat: now() });
    // Act
    const failure = await lazy.verify(token).catch((error: unknown) => error);
    const retried = await lazy.verify(token);
    // Assess
    expect(failure).toBeInstanceOf(Error);
    expect(retried.identity.userId).toBe('bob');
    expect(builds).toBe(2);
  });

  it('checks every time against the injected clock, not the machine one', async () => {
    const anHourAgo = now() - 3600;
    const clocked = createTokenVerifier({
      secret: SECRET,
      maxTokenLifetimeSeconds: 3600,
      now: () => anHourAgo * 1000,
    });
    // Valid at the injected instant, though long expired by the machine's clock.
    const thenValid = await hs256({ sub: 'alice', iat: anHourAgo, exp: anHourAgo + 60 });
    expect((await clocked.verify(thenValid)).identity.userId).toBe('alice');
    expect(await reason(verifier.verify(thenValid))).toBe('expired');
    // Valid by the machine's clock, but issued in the future of the injected instant.
    const issuedNow = await hs256({ sub: 'alice', iat: now(), exp: now() + 60 });
    expect(await reason(clocked.verify(issuedNow))).toBe('claims');
  });
});
