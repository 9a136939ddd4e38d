/**
 * Where the CLI commands send their AWS SDK calls: the local stack by default, AWS with `--aws`.
 * The one place in `cli/` that decides local vs AWS; the commands use the same clients either way.
 */
import { LOCAL_CREDENTIALS } from '../local/local-env.js';

/**
 * The client configuration for `endpoint`, or none on AWS (the default credential chain and region).
 * Locally any credentials do: the local endpoints accept any signature.
 */
export function clientConfig(endpoint: string | undefined) {
  // The AWS SDK warns once per process that its releases after January 2027 need Node 22. Lambda
  // runs Node 22; on a Node 20 workstation the notice only buries the output, so it is silenced
  // here (set the variable to "false" to see it).
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  if (endpoint === undefined) return {};
  return {
    endpoint,
    region: process.env.AWS_REGION ?? 'local',
    credentials: {
      accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? LOCAL_CREDENTIALS.accessKeyId,
      secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? LOCAL_CREDENTIALS.secretAccessKey,
    },
  };
}

/** What to tell the user when an SDK call failed: nothing listening locally gets its own hint. */
export function explainFailure(endpoint: string | undefined, call: string, error: unknown): string {
  const message = (error as Error).message;
  const code = String((error as { code?: string }).code ?? message);
  return endpoint && /ECONNREFUSED/.test(code)
    ? `nothing listens on ${endpoint}: start the local stack with npm start`
    : `${call} failed: ${message}`;
}
