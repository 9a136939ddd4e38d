/**
 * Hand-made JWTs for the hostile suite. jose refuses to sign most of what an attacker sends (an
 * `alg` of `none`, a payload that is not an object, duplicate keys, an empty HMAC key), so these
 * are assembled segment by segment with node:crypto: any header, any payload, any key.
 */
import { createHmac, createSign, type KeyObject, randomUUID } from 'node:crypto';

/** JSON text used verbatim as a segment (for duplicate keys, or text that is not JSON at all). */
export class RawJson {
  constructor(readonly text: string) {}
}

export type Signer =
  /** HMAC with these key bytes; `hash` defaults to sha256 (HS256). */
  | { readonly hmac: string | Uint8Array; readonly hash?: 'sha256' | 'sha384' | 'sha512' }
  /** RSASSA-PKCS1-v1_5 with this private key; `hash` defaults to sha256 (RS256). */
  | { readonly rsa: KeyObject; readonly hash?: 'sha256' | 'sha512' }
  /** A literal signature segment, e.g. `''` for `alg: none`. */
  | { readonly signature: string };

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

export function base64url(data: string | Uint8Array): string {
  return Buffer.from(data).toString('base64url');
}

/** One JWS segment: a value as JSON, or `RawJson` text as it is, base64url-encoded. */
export function segment(value: unknown): string {
  return base64url(value instanceof RawJson ? value.text : JSON.stringify(value));
}

/** A compact JWS `header.payload.signature`, signed as `signer` says regardless of the header's `alg`. */
export function forgeJwt(header: unknown, payload: unknown, signer: Signer): string {
  const input = `${segment(header)}.${segment(payload)}`;
  if ('signature' in signer) return `${input}.${signer.signature}`;
  if ('hmac' in signer) {
    return `${input}.${createHmac(signer.hash ?? 'sha256', signer.hmac)
      .update(input)
      .digest('base64url')}`;
  }
  const sign = createSign(signer.hash === 'sha512' ? 'RSA-SHA512' : 'RSA-SHA256');
  return `${input}.${sign.update(input).sign(signer.rsa, 'base64url')}`;
}

/** The payload segment of a compact token (what would leak a claim set if it reached a log). */
export function payloadSegment(token: string): string {
  return token.split('.')[1] ?? '';
}

/**
 * Remembers every token a test file sent and every claim value it planted, so that the file can
 * prove at the end that none of them reached the stack's logs.
 */
export class LeakWatch {
  readonly tokens = new Set<string>();
  readonly planted = new Set<string>();

  /** A recognisable, unique claim value, e.g. `planted-sub-1f2e3d4c`. */
  plant(label: string): string {
    const value = `planted-${label}-${randomUUID().slice(0, 8)}`;
    this.planted.add(value);
    return value;
  }

  /** Records a token that is about to be sent, and returns it. */
  sent(token: string): string {
    this.tokens.add(token);
    return token;
  }
}

/** jose's error classes and codes: none of them may show up in a log. */
export const JOSE_ERROR_NAMES = [
  'JWTExpired',
  'JWTClaimValidationFailed',
  'JWTInvalid',
  'JWSSignatureVerificationFailed',
  'JWSInvalid',
  'JOSEAlgNotAllowed',
  'JOSENotSupported',
  'JWKSNoMatchingKey',
  'JWKSMultipleMatchingKeys',
  'JWKSInvalid',
  'ERR_JWT_',
  'ERR_JWS_',
  'ERR_JOSE_',
  'ERR_JWKS_',
] as const;

/**
 * What of a token would be a leak if it reached a log: the token and its payload segment, when
 * they are long enough to mean something (a 3-character segment such as `W10` can occur anywhere).
 */
export function leakableParts(watch: LeakWatch): string[] {
  const parts = new Set<string>();
  for (const token of watch.tokens) {
    if (token.length >= 16) parts.add(token);
    const payload = payloadSegment(token);
    if (payload.length >= 16) parts.add(payload);
  }
  return [...parts];
}

/** A copy of `source` without `keys` (to drop a required claim). */
export function omit(source: Record<string, unknown>, ...keys: string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(source).filter(([key]) => !keys.includes(key)));
}

/** A claim set valid for 10 minutes, with planted `sub`, `email` and `roles`, and `extra` on top. */
export function plantedClaims(
  watch: LeakWatch,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  const now = nowSeconds();
  return {
    sub: watch.plant('sub'),
    email: `${watch.plant('email')}@claims.test`,
    roles: [watch.plant('role')],
    iat: now,
    exp: now + 600,
    ...extra,
  };
}
