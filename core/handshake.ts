/**
 * `$connect`: decides whether a WebSocket handshake is admitted, per PROTOCOL §2.
 *
 * The token may come from `?token=`, `Authorization: Bearer`, or an offered `token-<jwt>`
 * subprotocol. Refusal is an HTTP status (401/403) and no WebSocket is opened.
 */
import { bearerToken, type Identity, TokenRejectedError, type TokenVerifier } from './identity.js';

export const TOKEN_SUBPROTOCOL_PREFIX = 'token-';

export interface HandshakeRequest {
  readonly connectionId: string;
  /**
   * Every value of every header, names in any case (API Gateway's `multiValueHeaders`). All of
   * them are checked: a proxy that reads the first copy and a handshake that reads the last must
   * never disagree about the token or the Origin.
   */
  readonly headers: Readonly<Record<string, readonly string[] | undefined>>;
  readonly multiValueQuery: Readonly<Record<string, readonly string[] | undefined>>;
}

export interface HandshakePolicy {
  /** Exact origins (`scheme://host[:port]`) allowed; unset allows any. */
  readonly allowedOrigins?: readonly string[];
  readonly allowAnonymous: boolean;
  /** Bounds anonymous connections, which have no token expiry. */
  readonly maxConnectionSeconds: number;
}

export interface AdmittedHandshake {
  readonly identity: Identity;
  /** Epoch seconds after which the connection must be closed. */
  readonly expiresAt: number;
  /** The subprotocol to answer with, when the client offered any. */
  readonly subprotocol?: string;
}

/** A refused handshake; `reason` is safe to log (never the token or its claims). */
export class HandshakeRefusedError extends Error {
  override readonly name = 'HandshakeRefusedError';
  constructor(
    readonly statusCode: 401 | 403,
    readonly reason: string,
  ) {
    super(`handshake refused: ${reason}`);
  }
}

/** All values of a header, whatever the case of its name. */
function headerValues(headers: HandshakeRequest['headers'], name: string): string[] {
  const wanted = name.toLowerCase();
  return Object.entries(headers).flatMap(([key, values]) =>
    key.toLowerCase() === wanted ? (values ?? []) : [],
  );
}

/** Every token the request carries, by place, so that two different ones can be refused. */
function tokensOffered(request: HandshakeRequest, offered: readonly string[]): string[] {
  const tokens: string[] = [];
  const fromQuery = request.multiValueQuery.token;
  if (fromQuery !== undefined) {
    if (fromQuery.some((t) => t === '')) throw new HandshakeRefusedError(401, 'empty token parameter');
    tokens.push(...fromQuery);
  }
  for (const authorization of headerValues(request.headers, 'authorization')) {
    const bearer = bearerToken(authorization);
    if (!bearer) throw new HandshakeRefusedError(401, 'Authorization header is not a Bearer token');
    tokens.push(bearer);
  }
  for (const protocol of offered) {
    if (protocol.startsWith(TOKEN_SUBPROTOCOL_PREFIX))
      tokens.push(protocol.slice(TOKEN_SUBPROTOCOL_PREFIX.length));
  }
  return [...new Set(tokens)];
}

function chooseSubprotocol(offered: readonly string[]): string | undefined {
  // Browsers abort unless the answer is one of the offers; prefer one that does not echo the token.
  return offered.find((p) => !p.startsWith(TOKEN_SUBPROTOCOL_PREFIX)) ?? offered[0];
}

/** Admits or refuses a handshake. Throws `HandshakeRefusedError` with the status to answer. */
export async function admitHandshake(
  request: HandshakeRequest,
  policy: HandshakePolicy,
  verifier: TokenVerifier,
  now: number = Date.now(),
): Promise<AdmittedHandshake> {
  const { allowedOrigins } = policy;
  if (
    allowedOrigins &&
    headerValues(request.headers, 'origin').some((origin) => !allowedOrigins.includes(origin))
  ) {
    throw new HandshakeRefusedError(403, 'origin not allowed');
  }
  const offered = headerValues(request.headers, 'sec-websocket-protocol')
    .flatMap((value) => value.split(','))
    .map((p) => p.trim())
    .filter(Boolean);
  const tokens = tokensOffered(request, offered);
  if (tokens.length > 1) throw new HandshakeRefusedError(401, 'different tokens in different places');
  const subprotocol = chooseSubprotocol(offered);
  const withProtocol = subprotocol === undefined ? {} : { subprotocol };

  const [token] = tokens;
  if (token === undefined) {
    if (!policy.allowAnonymous) throw new HandshakeRefusedError(401, 'missing token');
    return {
      identity: { userId: `anonymous:${request.connectionId}`, roles: [], anonymous: true },
      expiresAt: Math.floor(now / 1000) + policy.maxConnectionSeconds,
      ...withProtocol,
    };
  }
  try {
    const verified = await verifier.verify(token);
    return { ...verified, ...withProtocol };
  } catch (error) {
    if (error instanceof TokenRejectedError) throw new HandshakeRefusedError(401, error.reason);
    throw error;
  }
}
