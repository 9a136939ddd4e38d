/**
 * `npm start`: runs the local stack until Ctrl-C or SIGTERM, then stops everything it started
 * (DynamoDB Local's JVM included) and exits 0. A startup problem is one line on stderr and exit 1.
 */
import { banner } from './banner.js';
import { LocalStackError } from './errors.js';
import { type LocalStack, startLocalStack } from './local-stack.js';

/** How long shutdown may take before the process exits anyway. */
// The AWS SDK warns once per process that its releases after January 2027 need Node 22. Lambda
// runs Node 22; on a Node 20 workstation the notice only buries the endpoints, so it is silenced
// here (set the variable to "false" to see it).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const SHUTDOWN_TIMEOUT_MS = 15_000;

function oneLine(error: unknown): string {
  if (error instanceof LocalStackError) return error.message;
  if (error instanceof Error) return `${error.name}: ${error.message.split('\n')[0]}`;
  return String(error);
}

const starting: Promise<LocalStack | undefined> = startLocalStack().catch((error: unknown) => {
  process.stderr.write(`Switchboard local stack failed to start: ${oneLine(error)}\n`);
  process.exit(1);
});

let stopping = false;
function stop(signal: NodeJS.Signals): void {
  // A second Ctrl-C: do not wait any longer.
  if (stopping) process.exit(130);
  stopping = true;
  process.stderr.write(`\n[switchboard] ${signal}: stopping\n`);
  setTimeout(() => {
    process.stderr.write('[switchboard] shutdown timed out\n');
    process.exit(1);
  }, SHUTDOWN_TIMEOUT_MS).unref();
  // During startup, wait for it to finish (or fail) so that nothing it started is left behind.
  void starting
    .then((stack) => stack?.close())
    .then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`[switchboard] shutdown failed: ${oneLine(error)}\n`);
        process.exit(1);
      },
    );
}
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
process.on('SIGHUP', stop);

const stack = await starting;
if (stack && !stopping) process.stdout.write(banner(stack));
