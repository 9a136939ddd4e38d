/**
 * `npm run redrive -- [--dry-run] [--max N]` moves the dead-letter queue's events back to the
 * publish queue (cli/dead-letters.ts) with the real SQS client: on the local stack by default
 * (`http://127.0.0.1:$SWITCHBOARD_PORT`, queues found by name), or on AWS with `--aws --dlq-url U
 * --queue-url U` (default credentials and region; the stack outputs `DeadLetterQueueUrl` and
 * `PublishQueueUrl`). Exit code 0 when every message read was moved, 1 otherwise, 2 on bad arguments.
 */
import { GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { LOCAL_QUEUE_NAMES } from '../local/emulator/sqs-queue.js';
import { commandLine, HELP_OPTION, refuse } from './args.js';
import { clientConfig, explainFailure } from './aws-target.js';
import { RedriveError, type RedriveReport, redrive } from './dead-letters.js';
import { cliSettingsOrRefuse, localEndpoint } from './settings.js';

const usage =
  'usage: npm run redrive -- [--dry-run] [--max <messages>] [--aws --dlq-url <url> --queue-url <url>]';

function fail(message: string): never {
  return refuse(usage, message);
}

const values = commandLine(usage, {
  'dry-run': { type: 'boolean', default: false },
  max: { type: 'string' },
  aws: { type: 'boolean', default: false },
  'dlq-url': { type: 'string' },
  'queue-url': { type: 'string' },
  ...HELP_OPTION,
});
const max = values.max === undefined ? undefined : Number(values.max);
if (max !== undefined && (!Number.isInteger(max) || max <= 0)) {
  fail(`--max must be a positive number of messages, got "${values.max}"`);
}
// No CloudFormation client is installed to read the stack's outputs: on AWS the URLs are given.
const stackOutputs = { 'dlq-url': 'DeadLetterQueueUrl', 'queue-url': 'PublishQueueUrl' } as const;
for (const [flag, output] of Object.entries(stackOutputs) as [keyof typeof stackOutputs, string][]) {
  const url = values[flag];
  if (url !== undefined && !URL.canParse(url)) fail(`--${flag} must be a queue URL, got "${url}"`);
  if (values.aws && url === undefined) fail(`--aws needs --${flag} (the stack output ${output})`);
}

const endpoint = values.aws ? undefined : localEndpoint(cliSettingsOrRefuse(usage));
const sqs = new SQSClient(clientConfig(endpoint));
const queueUrl = async (given: string | undefined, name: string) =>
  given ?? (await sqs.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl ?? '';

function print(report: RedriveReport): void {
  for (const { messageId, reason } of report.failures) {
    process.stderr.write(`could not move message ${messageId}: ${reason}\n`);
  }
  if (values['dry-run']) for (const id of report.moved) process.stdout.write(`would move event ${id}\n`);
  const counts = `skipped-duplicates ${report.skippedDuplicates}, could-not ${report.failures.length}`;
  process.stdout.write(
    values['dry-run']
      ? `dry run, nothing sent or deleted: would move ${report.moved.length}, ${counts}\n`
      : `moved ${report.moved.length}, ${counts}\n`,
  );
}

let report: RedriveReport;
try {
  report = await redrive({
    sqs,
    deadLetterQueueUrl: await queueUrl(values['dlq-url'], LOCAL_QUEUE_NAMES.deadLetters),
    publishQueueUrl: await queueUrl(values['queue-url'], LOCAL_QUEUE_NAMES.publish),
    dryRun: values['dry-run'],
    ...(max === undefined ? {} : { max }),
  });
} catch (error) {
  if (error instanceof RedriveError) print(error.report);
  const cause = error instanceof RedriveError ? error.cause : error;
  process.stderr.write(`${explainFailure(endpoint, 'SQS', cause)}\n`);
  process.exit(1);
}
print(report);
process.exit(report.failures.length === 0 ? 0 : 1);
