/**
 * What a verified token says about its bearer, and the port that verifies tokens. The jose-based
 * implementation lives in `adapters/token-verifier.ts`; core only depends on this shape.
 */
import type { Principal } from './channel-policy.js';

export interface Identity extends Principal {
  readonly email?: string;
}

export interface VerifiedToken {
  readonly identity: Identity;
  /** Token expiry, epoch seconds. */
  readonly expiresAt: number;
  /** Issued by the token exchange (PROTOCOL §2): such a token cannot be exchanged again. */
  readonly exchanged?: true;
}

export interface TokenVerifier {
  /** Resolves the token's identity, or rejects with `TokenRejectedError`. */
  verify(token: string): Promise<VerifiedToken>;
}

/**
 * A token was refused. `reason` is a fixed, coarse word safe to log: never the token, its claims
 * or the library's error (which can quote claim values).
 */
export class TokenRejectedError extends Error {
  override readonly name = 'TokenRejectedError';
  constructor(
    readonly reason:
      | 'malformed'
      | 'oversized'
      | 'signature'
      | 'expired'
      | 'claims'
      | 'algorithm'
      | 'lifetime'
      | 'exchanged',
  ) {
    super(`token rejected (${reason})`);
  }
}

/** The token of an `Authorization: Bearer <token>` header, or undefined when it is not one. */
export function bearerToken(authorization: string | undefined): string | undefined {
  return /^Bearer[ ]+(\S+)\s*$/i.exec(authorization ?? '')?.[1];
}
