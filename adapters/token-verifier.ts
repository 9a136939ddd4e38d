/**
 * Token verification with jose, per PROTOCOL §2: an explicit algorithm allow-list (HS256 with a
 * secret of at least 32 bytes, RS256/ES256 from a JWKS URL), `exp` and `sub` required, `iss`/`aud`
 * when configured, a capped lifetime, at most 30 s of clock tolerance, and a size cap applied
 * before any parsing. Headers such as `jku`, `x5u` or `kid` never make us fetch anything: keys
 * come only from the configured secret or JWKS URL.
 */
import { createRemoteJWKSet, decodeProtectedHeader, type JWTPayload, jwtVerify, SignJWT } from 'jose';
// The classes themselves, not jose's `errors` namespace: a bundle keeps a namespace object whole
// (every error class jose has), and the message routes sit close to their size budget.
import {
  JOSEAlgNotAllowed,
  JWKSNoMatchingKey,
  JWSSignatureVerificationFailed,
  JWTClaimValidationFailed,
  JWTExpired,
} from 'jose/errors';
import {
  type Identity,
  TokenRejectedError,
  type TokenVerifier,
  type VerifiedToken,
} from '../core/identity.js';
import { CHANNEL_PATTERN } from '../core/protocol.js';
import * as z from '../core/validation.js';

export const MAX_TOKEN_BYTES = 4096;
export const CLOCK_TOLERANCE_SECONDS = 30;
/**
 * The claim that marks a token issued by the exchange (PROTOCOL §2). Only `signToken({ exchanged:
 * true })` sets it, and no client can add it to a token without the signing key. A main-token
 * issuer could still put it in its own tokens (any value): such a token is then refused by the
 * exchange too, which errs on the safe side. Its name is a URN so that no issuer's own claim
 * (`token_use`, `typ`, `scope`...) can be mistaken for it.
 */
export const EXCHANGED_CLAIM = 'urn:switchboard:exchanged';
const HMAC_ALGORITHMS = ['HS256'];
const JWKS_ALGORITHMS = ['RS256', 'ES256'];

export interface TokenVerifierOptions {
  readonly secret?: string;
  readonly jwksUrl?: string;
  readonly issuer?: string;
  readonly audience?: string;
  /** Longest accepted `exp - iat` (or `exp - now` without `iat`), in seconds. */
  readonly maxTokenLifetimeSeconds: number;
  /**
   * The clock, epoch milliseconds, for every time check (`exp`, `nbf`, `iat`, the lifetime cap):
   * injected so a test or a replay can verify at a given instant. @default Date.now
   */
  readonly now?: () => number;
}

const claimsSchema = z.object({
  sub: z.string().check(z.minLength(1), z.maxLength(256)),
  exp: z.number(),
  iat: z.optional(z.number()),
  email: z.optional(z.string().check(z.maxLength(320))),
  tenant: z.optional(z.string().check(z.regex(CHANNEL_PATTERN))),
  roles: z.optional(z.array(z.string().check(z.maxLength(64))).check(z.maxLength(50))),
  role: z.optional(z.string().check(z.maxLength(64))),
});

/** Maps verified claims to the identity Switchboard stores; `roles` wins over `role`. */
export function identityFromClaims(payload: JWTPayload): VerifiedToken {
  const parsed = claimsSchema.safeParse(payload);
  if (!parsed.success) throw new TokenRejectedError('claims');
  const c = parsed.data;
  const identity: Identity = {
    userId: c.sub,
    roles: c.roles ?? (c.role ? [c.role] : []),
    anonymous: false,
    ...(c.tenant ? { tenant: c.tenant } : {}),
    ...(c.email ? { email: c.email } : {}),
  };
  return {
    identity,
    expiresAt: c.exp,
    ...(Object.hasOwn(payload, EXCHANGED_CLAIM) ? { exchanged: true as const } : {}),
  };
}

/**
 * jose's errors carry the token's payload (`JWTClaimValidationFailed.payload`), so they are
 * deliberately not kept as `cause`: a rejected token must never reach a log by accident.
 */
function mapJoseError(error: unknown): TokenRejectedError {
  if (error instanceof TokenRejectedError) return error;
  if (error instanceof JWTExpired) return new TokenRejectedError('expired');
  if (error instanceof JWTClaimValidationFailed) return new TokenRejectedError('claims');
  if (error instanceof JOSEAlgNotAllowed) return new TokenRejectedError('algorithm');
  if (error instanceof JWSSignatureVerificationFailed || error instanceof JWKSNoMatchingKey) {
    return new TokenRejectedError('signature');
  }
  return new TokenRejectedError('malformed');
}

export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  if (!options.secret && !options.jwksUrl) throw new Error('a token verifier needs a secret or a JWKS URL');
  if (options.secret && Buffer.byteLength(options.secret) < 32) {
    throw new Error('the HS256 secret must be at least 32 bytes');
  }
  const secretKey = options.secret ? new TextEncoder().encode(options.secret) : undefined;
  const jwks = options.jwksUrl ? createRemoteJWKSet(new URL(options.jwksUrl)) : undefined;
  const clock = options.now ?? Date.now;

  async function verify(token: string): Promise<VerifiedToken> {
    if (Buffer.byteLength(token, 'utf8') > MAX_TOKEN_BYTES) throw new TokenRejectedError('oversized');
    let alg: unknown;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch {
      throw new TokenRejectedError('malformed');
    }
    const nowMs = clock();
    const verifyOptions = {
      requiredClaims: ['exp', 'sub'],
      currentDate: new Date(nowMs),
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      ...(options.issuer ? { issuer: options.issuer } : {}),
      ...(options.audience ? { audience: options.audience } : {}),
    };
    let payload: JWTPayload;
    try {
      if (typeof alg === 'string' && HMAC_ALGORITHMS.includes(alg) && secretKey) {
        ({ payload } = await jwtVerify(token, secretKey, { ...verifyOptions, algorithms: HMAC_ALGORITHMS }));
      } else if (typeof alg === 'string' && JWKS_ALGORITHMS.includes(alg) && jwks) {
        ({ payload } = await jwtVerify(token, jwks, { ...verifyOptions, algorithms: JWKS_ALGORITHMS }));
      } else {
        throw new TokenRejectedError('algorithm');
      }
    } catch (error) {
      throw mapJoseError(error);
    }
    const verified = identityFromClaims(payload);
    const now = Math.floor(nowMs / 1000);
    const issuedAt = typeof payload.iat === 'number' ? payload.iat : now;
    if (issuedAt > now + CLOCK_TOLERANCE_SECONDS) throw new TokenRejectedError('claims');
    if (verified.expiresAt - issuedAt > options.maxTokenLifetimeSeconds)
      throw new TokenRejectedError('lifetime');
    return verified;
  }

  return { verify };
}

export interface SignTokenInput {
  readonly secret: string;
  readonly identity: Omit<Identity, 'anonymous'>;
  readonly ttlSeconds: number;
  readonly issuer?: string;
  readonly audience?: string;
  /** Marks the token as issued by the exchange (`EXCHANGED_CLAIM`), which then refuses it. @default false */
  readonly exchanged?: boolean;
  /** `iat`, epoch seconds; `exp` is `now + ttlSeconds`. @default the current time */
  readonly now?: number;
}

/** Mints an HS256 token (local `npm run token`, and the token exchange's short-lived tokens). */
export async function signToken(input: SignTokenInput): Promise<string> {
  const { identity } = input;
  const claims: JWTPayload = { roles: [...identity.roles] };
  if (identity.tenant) claims.tenant = identity.tenant;
  if (identity.email) claims.email = identity.email;
  if (input.exchanged) claims[EXCHANGED_CLAIM] = true;
  const now = input.now ?? Math.floor(Date.now() / 1000);
  let jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(identity.userId)
    .setIssuedAt(now)
    .setExpirationTime(now + input.ttlSeconds);
  if (input.issuer) jwt = jwt.setIssuer(input.issuer);
  if (input.audience) jwt = jwt.setAudience(input.audience);
  return jwt.sign(new TextEncoder().encode(input.secret));
}
