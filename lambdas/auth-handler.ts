/**
 * `POST /api/v1/auth`: exchanges a main token for a short-lived one (PROTOCOL §2), so browsers can
 * put a token in a URL that is useless a minute later. A short token lives `shortTokenTtlSeconds`
 * but never past the main token's `exp`, and is marked (`EXCHANGED_CLAIM`) so that it cannot be
 * exchanged in turn.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { resolveAuthSecret, verifierWithSecret } from '../adapters/auth.js';
import type { Config } from '../adapters/config.js';
import { createLogger, errorSummary } from '../adapters/observability.js';
import { signToken } from '../adapters/token-verifier.js';
import { bearerToken, TokenRejectedError } from '../core/identity.js';

const json = (statusCode: number, body: unknown): APIGatewayProxyResultV2 => ({
  statusCode,
  headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
  body: JSON.stringify(body),
});

const unauthorized = (message: string) =>
  json(401, { success: false, error: { code: 'unauthorized', message } });

/** `env`: what the logger reads (the Lambda runtime's variables by default). */
export async function createHandler(config: Config, env?: NodeJS.ProcessEnv) {
  const logger = createLogger(env);
  // Short-lived tokens are signed with the HS256 secret. A deployment that verifies JWKS tokens only
  // has nothing to sign with: the exchange then answers 501 instead of failing every cold start.
  // Read once, at init, for both signing and verifying (one Secrets Manager call, not two).
  const secret = await resolveAuthSecret(config.auth);
  if (!secret) logger.warn('token exchange disabled: no HS256 secret is configured', {});
  const verifier = verifierWithSecret(config.auth, secret);
  const ttlSeconds = config.auth.shortTokenTtlSeconds;

  return async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyResultV2> => {
    if (!secret) {
      return json(501, {
        success: false,
        error: {
          code: 'not_configured',
          message: 'token exchange needs an HS256 secret, and none is configured',
        },
      });
    }
    const authorization = event.headers?.authorization ?? event.headers?.Authorization;
    const bearer = bearerToken(authorization);
    if (!bearer) return unauthorized('send the main token as "Authorization: Bearer <jwt>"');
    try {
      const main = await verifier.verify(bearer);
      // A short token bought with a short token would restart the clock: a session could then be
      // kept alive forever, past the main token's exp and the lifetime cap.
      if (main.exchanged) throw new TokenRejectedError('exchanged');
      const now = Math.floor(Date.now() / 1000);
      // Never beyond the main token's own exp (PROTOCOL §2), which the verifier's clock tolerance
      // may already have passed.
      const lifetime = Math.min(ttlSeconds, main.expiresAt - now);
      if (lifetime <= 0) throw new TokenRejectedError('expired');
      const token = await signToken({
        secret,
        identity: main.identity,
        ttlSeconds: lifetime,
        now,
        exchanged: true,
        ...(config.auth.issuer ? { issuer: config.auth.issuer } : {}),
        ...(config.auth.audience ? { audience: config.auth.audience } : {}),
      });
      return json(200, { success: true, data: { token, expires_in: lifetime } });
    } catch (error) {
      if (error instanceof TokenRejectedError) {
        logger.info('token exchange refused', { reason: error.reason });
        return unauthorized('token is missing, invalid or expired');
      }
      logger.error('token exchange failed', errorSummary(error));
      return json(500, { success: false, error: { code: 'internal_error', message: 'internal error' } });
    }
  };
}
