/**
 * Builds the token verifier from configuration. On AWS the HS256 secret lives in Secrets Manager
 * (`SWITCHBOARD_AUTH_SECRET_ARN`) and is read once, at init; locally it is given directly.
 */
import type { TokenVerifier } from '../core/identity.js';
import { type AuthConfig, ConfigError } from './config.js';
import { createTokenVerifier } from './token-verifier.js';

/** The HS256 secret: the configured value, or one `GetSecretValue` call when only an ARN is set. */
export async function resolveAuthSecret(auth: AuthConfig): Promise<string | undefined> {
  if (auth.secret || !auth.secretArn) return auth.secret;
  // Loaded here, not at the top: a function that never reads the secret at init (the message
  // routes, see `createLazyVerifier`) does not pay for loading the Secrets Manager client.
  const { GetSecretValueCommand, SecretsManagerClient } = await import('@aws-sdk/client-secrets-manager');
  const { SecretString } = await new SecretsManagerClient({}).send(
    new GetSecretValueCommand({ SecretId: auth.secretArn }),
  );
  if (!SecretString || Buffer.byteLength(SecretString) < 32) {
    throw new ConfigError('the auth secret in Secrets Manager must be a string of at least 32 bytes');
  }
  return SecretString;
}

/** The verifier for `auth` with its HS256 secret already read (see `resolveAuthSecret`). */
export function verifierWithSecret(auth: AuthConfig, secret: string | undefined): TokenVerifier {
  return createTokenVerifier({
    maxTokenLifetimeSeconds: auth.maxTokenLifetimeSeconds,
    ...(secret ? { secret } : {}),
    ...(auth.jwksUrl ? { jwksUrl: auth.jwksUrl } : {}),
    ...(auth.issuer ? { issuer: auth.issuer } : {}),
    ...(auth.audience ? { audience: auth.audience } : {}),
  });
}

export async function createVerifierFromConfig(auth: AuthConfig): Promise<TokenVerifier> {
  return verifierWithSecret(auth, await resolveAuthSecret(auth));
}

/**
 * A verifier built by `build` on its first use. The message routes verify a token only for
 * `refresh`, a message a client sends about once per token lifetime, so reading the secret from
 * Secrets Manager at init (a network call on every cold start) would be paid for by every other
 * message. `build` runs once per instance; if it fails, the next `verify` tries again.
 */
export function lazyVerifier(build: () => Promise<TokenVerifier>): TokenVerifier {
  let built: Promise<TokenVerifier> | undefined;
  return {
    async verify(token) {
      built ??= build().catch((error: unknown) => {
        built = undefined;
        throw error;
      });
      return (await built).verify(token);
    },
  };
}
