import { describe, expect, it } from 'vitest';
import { admitHandshake, HandshakeRefusedError, type HandshakeRequest } from '../../core/handshake.js';
import { TokenRejectedError, type TokenVerifier } from '../../core/identity.js';

/** A verifier that accepts exactly the token "good" (jose itself is covered by token-verifier.test.ts). */
const verifier: TokenVerifier = {
  async verify(token) {
    if (token !== 'good') throw new TokenRejectedError('signature');
    return { identity: { userId: 'alice', roles: [], anonymous: false }, expiresAt: 2_000_000_000 };
  },
};
const policy = { allowAnonymous: false, maxConnectionSeconds: 7200 };

function request(parts: Partial<HandshakeRequest>): HandshakeRequest {
  return { connectionId: 'c1', headers: {}, multiValueQuery: {}, ...parts };
}

async function status(req: HandshakeRequest, p = policy): Promise<number> {
  try {
    await admitHandshake(req, p, verifier);
    return 200;
  } catch (error) {
    if (error instanceof HandshakeRefusedError) return error.statusCode;
    throw error;
  }
}

describe('admitting a handshake', () => {
  it('takes the token from the query string', async () => {
    expect(await status(request({ multiValueQuery: { token: ['good'] } }))).toBe(200);
  });

  it('takes the token from an Authorization Bearer header, in any header case', async () => {
    expect(await status(request({ headers: { authorization: ['Bearer good'] } }))).toBe(200);
    expect(await status(request({ headers: { Authorization: ['bearer good'] } }))).toBe(200);
  });

  it('takes the token from an offered subprotocol and answers with a non-token offer', async () => {
    // Act
    const admitted = await admitHandshake(
      request({ headers: { 'Sec-WebSocket-Protocol': ['token-good, switchboard.v1'] } }),
      policy,
      verifier,
    );
    // Assess
    expect(admitted.subprotocol).toBe('switchboard.v1');
    expect(admitted.identity.userId).toBe('alice');
  });

  it('answers with the token offer when it is the only one, since browsers need one of their offers back', async () => {
    const admitted = await admitHandshake(
      request({ headers: { 'sec-websocket-protocol': ['token-good'] } }),
      policy,
      verifier,
    );
    expect(admitted.subprotocol).toBe('token-good');
  });

  it('accepts the same token given in two places', async () => {
    const req = request({
      multiValueQuery: { token: ['good'] },
      headers: { authorization: ['Bearer good'] },
    });
    expect(await status(req)).toBe(200);
  });

  it.each([
    ['no token', request({})],
    ['an invalid token', request({ multiValueQuery: { token: ['bad'] } })],
    ['an empty ?token=', request({ multiValueQuery: { token: [''] } })],
    ['two different ?token= values', request({ multiValueQuery: { token: ['good', 'other'] } })],
    [
      'different tokens in query and header',
      request({ multiValueQuery: { token: ['good'] }, headers: { authorization: ['Bearer other'] } }),
    ],
    [
      'different tokens in query and subprotocol',
      request({ multiValueQuery: { token: ['good'] }, headers: { 'sec-websocket-protocol': ['token-x'] } }),
    ],
    ['a non-Bearer Authorization header', request({ headers: { authorization: ['Basic Zm9vOmJhcg=='] } })],
  ])('refuses %s with 401', async (_name, req) => {
    expect(await status(req)).toBe(401);
  });

  it('refuses a forbidden or look-alike Origin with 403 when an allow-list is set', async () => {
    // Prepare
    const strict = { ...policy, allowedOrigins: ['https://app.example.com'] };
    const withOrigin = (origin: string) =>
      request({ multiValueQuery: { token: ['good'] }, headers: { Origin: [origin] } });
    // Act / Assess
    expect(await status(withOrigin('https://app.example.com'), strict)).toBe(200);
    expect(await status(withOrigin('https://evil.example.com'), strict)).toBe(403);
    expect(await status(withOrigin('https://app.example.com.evil.io'), strict)).toBe(403);
    expect(await status(withOrigin('http://app.example.com'), strict)).toBe(403);
    expect(await status(request({ multiValueQuery: { token: ['good'] } }), strict)).toBe(200);
  });

  it('checks every copy of a repeated header: two different Bearer tokens are refused', async () => {
    const twice = request({ headers: { Authorization: ['Bearer good', 'Bearer other'] } });
    const byCase = request({ headers: { Authorization: ['Bearer good'], authorization: ['Bearer other'] } });
    const garbageFirst = request({ headers: { authorization: ['Bearer', 'Bearer good'] } });
    expect(await status(twice)).toBe(401);
    expect(await status(byCase)).toBe(401);
    expect(await status(garbageFirst)).toBe(401);
  });

  it('refuses when any copy of Origin is outside the allow-list, in either order', async () => {
    const strict = { ...policy, allowedOrigins: ['https://app.example.com'] };
    const token = { multiValueQuery: { token: ['good'] } };
    const bad = 'https://evil.example.com';
    expect(
      await status(request({ ...token, headers: { Origin: [bad, 'https://app.example.com'] } }), strict),
    ).toBe(403);
    expect(
      await status(request({ ...token, headers: { Origin: ['https://app.example.com', bad] } }), strict),
    ).toBe(403);
  });

  it('reads subprotocol offers from every copy of the header', async () => {
    const req = request({ headers: { 'Sec-WebSocket-Protocol': ['token-good', 'token-other'] } });
    expect(await status(req)).toBe(401);
  });

  it('admits anonymous connections without a token only when enabled', async () => {
    // Act
    const admitted = await admitHandshake(
      request({}),
      { ...policy, allowAnonymous: true },
      verifier,
      1_000_000,
    );
    // Assess
    expect(admitted.identity).toMatchObject({ anonymous: true, roles: [] });
    expect(admitted.expiresAt).toBe(1000 + 7200);
    expect(
      await status(request({ multiValueQuery: { token: ['bad'] } }), { ...policy, allowAnonymous: true }),
    ).toBe(401);
  });
});
