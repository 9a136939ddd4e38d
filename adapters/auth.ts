/**
 * Builds the token verifier from configuration. On AWS the HS256 secret lives in Secrets Manager
 * (`SWITCHBOARD_AUTH_SECRET_ARN`) and is read once, at init; locally it is given directly.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { TokenVerifier } from '../core/identity.js';
import { type AuthConfig, ConfigError } from './config.js';
import { createTokenVerifier } from './token-verifier.js';

export async function resolveAuthSecret(auth: AuthConfig): Promise<string | undefined> {
  if (auth.secret || !auth.secretArn) return auth.secret;
  const { SecretString } = await new SecretsManagerClient({}).send(
    new GetSecretValueCommand({ SecretId: auth.secretArn }),
  );
  if (!SecretString || Buffer.byteLength(SecretString) < 32) {
    throw new ConfigError('the auth secret in Secrets Manager must be a string of at least 32 bytes');
  }
  return SecretString;
}

export async function createVerifierFromConfig(auth: AuthConfig): Promise<TokenVerifier> {
  const secret = await resolveAuthSecret(auth);
  return createTokenVerifier({
    maxTokenLifetimeSeconds: auth.maxTokenLifetimeSeconds,
    ...(secret ? { secret } : {}),
    ...(auth.jwksUrl ? { jwksUrl: auth.jwksUrl } : {}),
    ...(auth.issuer ? { issuer: auth.issuer } : {}),
    ...(auth.audience ? { audience: auth.audience } : {}),
  });
}
