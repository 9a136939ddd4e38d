/**
 * Properties of token verification on arbitrary input (PROTOCOL §2): the verifier refuses anything
 * it cannot trust with a `TokenRejectedError` and nothing else, and claims it accepts always map to
 * an identity whose parts fit where they are used (tenant in the channel grammar, roles strings).
 * Pure: a secret only, no JWKS, no network.
 */
import fc from 'fast-check';
import type { JWTPayload } from 'jose';
import { describe, expect, it } from 'vitest';
import { createTokenVerifier, identityFromClaims } from '../../adapters/token-verifier.js';
import { TokenRejectedError } from '../../core/identity.js';
import { forgeJwt, nowSeconds, RawJson } from '../support/hostile-jwt.js';

const SECRET = 'a-property-test-secret-of-at-least-32-bytes';
const verifier = createTokenVerifier({ secret: SECRET, maxTokenLifetimeSeconds: 3600 });
const GRAMMAR = /^[A-Za-z0-9_.:@-]{1,128}$/;

/** Mostly a valid value, sometimes a hostile one: so that whole claim sets are accepted often enough. */
const mostly = <T, U>(valid: fc.Arbitrary<T>, hostile: fc.Arbitrary<U>) =>
  fc.oneof({ weight: 3, arbitrary: valid }, { weight: 1, arbitrary: hostile });
const shortString = fc.string({ minLength: 1, maxLength: 16 });

/** Claim sets: each claim absent, right, or of any type and size. */
const claimSet = fc.record(
  {
    sub: mostly(shortString, fc.oneof(fc.string({ maxLength: 300 }), fc.jsonValue({ maxDepth: 1 }))),
    exp: mostly(
      fc.integer({ min: 60, max: 3000 }).map((d) => nowSeconds() + d),
      fc.oneof(
        fc.integer({ min: -4000, max: 90_000 }).map((d) => nowSeconds() + d),
        fc.double(),
        fc.jsonValue(),
      ),
    ),
    iat: mostly(
      fc.integer({ min: -60, max: 0 }).map((d) => nowSeconds() + d),
      fc.oneof(
        fc.integer({ min: -90_000, max: 4000 }).map((d) => nowSeconds() + d),
        fc.jsonValue({ maxDepth: 1 }),
      ),
    ),
    nbf: mostly(
      fc.integer({ min: -60, max: 0 }).map((d) => nowSeconds() + d),
      fc.oneof(
        fc.integer({ min: -100, max: 4000 }).map((d) => nowSeconds() + d),
        fc.jsonValue({ maxDepth: 1 }),
      ),
    ),
    roles: mostly(
      fc.array(shortString, { maxLength: 4 }),
      fc.oneof(fc.array(fc.string({ maxLength: 70 }), { maxLength: 60 }), fc.jsonValue({ maxDepth: 2 })),
    ),
    role: mostly(shortString, fc.oneof(fc.string({ maxLength: 70 }), fc.jsonValue({ maxDepth: 1 }))),
    tenant: mostly(
      fc.string({ unit: fc.constantFrom(...'az09_.:@-'), minLength: 1, maxLength: 12 }),
      fc.oneof(fc.string({ maxLength: 140 }), fc.jsonValue({ maxDepth: 1 })),
    ),
    email: mostly(shortString, fc.oneof(fc.string({ maxLength: 330 }), fc.jsonValue({ maxDepth: 1 }))),
  },
  { requiredKeys: [] },
);

async function rejectionOrIdentity(token: string) {
  try {
    return { accepted: true as const, verified: await verifier.verify(token) };
  } catch (error) {
    if (error instanceof TokenRejectedError) return { accepted: false as const };
    throw error;
  }
}

describe('token verification on arbitrary input', () => {
  it('refuses arbitrary strings with TokenRejectedError only', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'binary', maxLength: 200 }), async (token) => {
        expect((await rejectionOrIdentity(token)).accepted).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  it('refuses well-signed tokens whose payload is any non-object JSON with TokenRejectedError only', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), async (payload) => {
        fc.pre(typeof payload !== 'object' || payload === null || Array.isArray(payload));
        const token = forgeJwt({ alg: 'HS256' }, new RawJson(JSON.stringify(payload)), { hmac: SECRET });
        expect((await rejectionOrIdentity(token)).accepted).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  it('maps any well-signed claim set it accepts to an identity that fits the protocol', async () => {
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(claimSet, async (claims) => {
        const result = await rejectionOrIdentity(forgeJwt({ alg: 'HS256' }, claims, { hmac: SECRET }));
        if (!result.accepted) return;
        accepted += 1;
        const { identity, expiresAt } = result.verified;
        expect(identity.anonymous).toBe(false);
        expect(identity.userId).toBe(claims.sub);
        expect(typeof expiresAt).toBe('number');
        expect(Number.isFinite(expiresAt)).toBe(true);
        for (const role of identity.roles) expect(typeof role).toBe('string');
        if (identity.tenant !== undefined) expect(identity.tenant).toMatch(GRAMMAR);
      }),
      { numRuns: 1500 },
    );
    // The generator must reach the accepting side too, or the property proves nothing.
    expect(accepted).toBeGreaterThan(0);
  });

  it('maps claims to an identity or refuses them with TokenRejectedError, for any JSON object', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 })),
        claimSet,
        (extra, claims) => {
          try {
            // jose hands over whatever JSON the signed payload holds; its type names the registered claims only.
            identityFromClaims({ ...extra, ...claims } as JWTPayload);
          } catch (error) {
            expect(error).toBeInstanceOf(TokenRejectedError);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});
