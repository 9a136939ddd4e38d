/**
 * PROTOCOL §2 end to end: tokens in each place, refusals as HTTP statuses with no WebSocket
 * opened, the Origin allow-list, the token exchange, and logs that never hold a token or claims.
 */
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningStack, startStack, TEST_SECRET, tokenFor } from '../support/local-stack.js';
import { handshakeStatus, TestClient } from '../support/ws-client.js';

let stack: RunningStack;
const ALLOWED = 'https://app.example.com';
const seenTokens: string[] = [];

async function token(claims: Parameters<typeof tokenFor>[0]): Promise<string> {
  const t = await tokenFor(claims);
  seenTokens.push(t);
  return t;
}

beforeAll(async () => {
  stack = await startStack({ SWITCHBOARD_ALLOWED_ORIGINS: `${ALLOWED},http://localhost:3000` });
});
afterAll(() => stack?.stop());

describe('authenticating a connection', () => {
  it('accepts a token in the query string', async () => {
    expect(await handshakeStatus(stack.websocketUrl, { token: await token({ sub: 'q' }) })).toBe(101);
  });

  it('accepts a token in an Authorization Bearer header', async () => {
    const t = await token({ sub: 'h' });
    expect(await handshakeStatus(stack.websocketUrl, { headers: { Authorization: `Bearer ${t}` } })).toBe(
      101,
    );
  });

  it('accepts a token as an offered subprotocol and answers with the non-token offer', async () => {
    // Prepare
    const t = await token({ sub: 'p' });
    // Act
    const client = await TestClient.connect(stack.websocketUrl, {
      protocols: [`token-${t}`, 'switchboard.v1'],
    });
    // Assess
    expect(client.socket.protocol).toBe('switchboard.v1');
    expect(await client.request({ action: 'whoami' })).toMatchObject({ user: { userId: 'p' } });
    await client.close();
  });

  it.each([
    ['no token', {}],
    ['a garbage token', { token: 'garbage' }],
  ])('refuses %s with 401 and opens no WebSocket', async (_name, options) => {
    expect(await handshakeStatus(stack.websocketUrl, options)).toBe(401);
  });

  it('refuses an expired token with 401', async () => {
    const expired = await new SignJWT({ sub: 'old' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuedAt(Math.floor(Date.now() / 1000) - 600)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 300)
      .sign(new TextEncoder().encode(TEST_SECRET));
    seenTokens.push(expired);
    expect(await handshakeStatus(stack.websocketUrl, { token: expired })).toBe(401);
  });

  it('refuses a token signed with another secret with 401', async () => {
    const forged = await new SignJWT({ sub: 'eve', roles: ['admin'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode('some-other-secret-with-at-least-32-bytes'));
    expect(await handshakeStatus(stack.websocketUrl, { token: forged })).toBe(401);
  });

  it('refuses two different tokens in two places with 401', async () => {
    const a = await token({ sub: 'a' });
    const b = await token({ sub: 'b' });
    expect(
      await handshakeStatus(stack.websocketUrl, { token: a, headers: { Authorization: `Bearer ${b}` } }),
    ).toBe(401);
  });

  it('refuses a forbidden or look-alike Origin with 403, and admits an allowed one', async () => {
    const t = await token({ sub: 'o' });
    expect(
      await handshakeStatus(stack.websocketUrl, {
        token: t,
        headers: { Origin: 'https://evil.example.com' },
      }),
    ).toBe(403);
    expect(
      await handshakeStatus(stack.websocketUrl, { token: t, headers: { Origin: `${ALLOWED}.evil.io` } }),
    ).toBe(403);
    expect(await handshakeStatus(stack.websocketUrl, { token: t, headers: { Origin: ALLOWED } })).toBe(101);
  });
});

describe('the token exchange', () => {
  it('exchanges a main token for a short-lived one that connects', async () => {
    // Prepare
    const main = await token({ sub: 'xchg', roles: ['admin'], tenant: 'acme' });
    // Act
    const response = await fetch(`${stack.baseUrl}/api/v1/auth`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${main}` },
    });
    const body = (await response.json()) as { success: boolean; data: { token: string; expires_in: number } };
    seenTokens.push(body.data.token);
    // Assess
    expect(response.status).toBe(200);
    expect(body).toMatchObject({ success: true, data: { expires_in: 60 } });
    const client = await TestClient.connect(stack.websocketUrl, { token: body.data.token });
    expect(await client.request({ action: 'whoami' })).toMatchObject({
      user: { userId: 'xchg', roles: ['admin'], tenant: 'acme' },
    });
    await client.close();
  });

  it('answers 401 with the documented error body for a bad main token', async () => {
    const response = await fetch(`${stack.baseUrl}/api/v1/auth`, {
      method: 'POST',
      headers: { Authorization: 'Bearer nope' },
    });
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({
      success: false,
      error: { code: 'unauthorized', message: expect.any(String) },
    });
  });
});

describe('logs', () => {
  it('never contain a token, a claim set or a verification error', async () => {
    // Prepare: a refused token carrying recognisable claims.
    const leaky = await new SignJWT({ sub: 'leak-sub-9f2c', email: 'leak@claims.io', roles: ['leak-role'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime(Math.floor(Date.now() / 1000) - 3600)
      .sign(new TextEncoder().encode(TEST_SECRET));
    seenTokens.push(leaky);
    await handshakeStatus(stack.websocketUrl, { token: leaky });
    // Assess
    const logs = stack.logs();
    expect(logs).toMatch(/handshake refused/);
    for (const t of seenTokens) {
      expect(logs).not.toContain(t);
      expect(logs).not.toContain(t.split('.')[1]);
    }
    expect(logs).not.toMatch(/leak-sub-9f2c|leak@claims\.io|leak-role/);
    expect(logs).not.toMatch(
      /JWTExpired|JWTClaimValidationFailed|JWSSignatureVerificationFailed|"exp" claim/,
    );
  });
});
