/**
 * The stacks whose logical ids `logical-ids.test.ts` pins, and the recorder of its fixture.
 *
 * CloudFormation replaces a resource whose logical id changes: a new table (the old one, and
 * every connection and subscription in it, deleted), new queues (queued events lost), a new
 * WebSocket API (a new endpoint URL), a new secret (a new HS256 key, every issuer broken). So a
 * refactoring of `lib/` must leave every logical id where it was; the fixture is the ids as they
 * were deployed before the constructs were split (issue 11).
 *
 * Re-record (only for a deliberate, documented change of ids):
 *   npx tsx test/infra/logical-id-scenarios.ts > test/infra/fixtures/logical-ids.json
 */
import { fileURLToPath } from 'node:url';
import { Duration, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Certificate } from 'aws-cdk-lib/aws-certificatemanager';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { buildApp } from '../../bin/app.js';
import { SwitchboardStack } from '../../lib/switchboard-stack.js';
import { newApp } from './synth.js';

/** Every resource of a template: logical id to CloudFormation type, sorted by id. */
export type LogicalIds = Record<string, string>;

const CERTIFICATE_ARN = 'arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000';

/** A stack with every option that adds resources: custom domain, dashboard, account role, alarms. */
function everything(): Stack {
  return new SwitchboardStack(newApp(), 'Everything', {
    env: { region: 'us-east-1', account: '123456789012' },
    switchboard: (stack) => ({
      domain: {
        domainName: 'realtime.example.com',
        certificate: Certificate.fromCertificateArn(stack, 'Certificate', CERTIFICATE_ARN),
      },
      dashboard: true,
      apiGatewayCloudWatchRole: true,
      alarmTopic: Topic.fromTopicArn(stack, 'Alarms', 'arn:aws:sns:us-east-1:123456789012:alarms'),
      routeThrottle: { $connect: { rateLimit: 50, burstLimit: 100 } },
      sweepPeriod: Duration.minutes(2),
    }),
  });
}

/** A stack with a front door whose web ACL it creates (us-east-1; it excludes a custom domain). */
function frontDoor(): Stack {
  return new SwitchboardStack(newApp(), 'FrontDoor', {
    env: { region: 'us-east-1', account: '123456789012' },
    switchboard: { frontDoor: { rateLimitPer5Minutes: 300 } },
  });
}

/** A stack that brings its own secret and bus (none created) and no account role. */
function imported(): Stack {
  return new SwitchboardStack(newApp(), 'Imported', {
    switchboard: (stack) => ({
      auth: {
        secret: Secret.fromSecretCompleteArn(
          stack,
          'Secret',
          'arn:aws:secretsmanager:eu-west-1:123456789012:secret:switchboard-AbCdEf',
        ),
      },
      eventBus: EventBus.fromEventBusName(stack, 'Bus', 'apps'),
      eventSources: ['orders'],
      apiGatewayCloudWatchRole: false,
    }),
  });
}

/** The stacks pinned, by name: this repository's app (cdk.json context), the package defaults, and two option sets. */
export const SCENARIOS: Readonly<Record<string, () => Stack>> = {
  app: () => buildApp(newApp()).stack,
  defaults: () => new SwitchboardStack(newApp(), 'Test'),
  everything,
  frontDoor,
  imported,
};

/** The logical ids of a stack's resources. */
export function logicalIdsOf(stack: Stack): LogicalIds {
  const resources = Template.fromStack(stack).toJSON().Resources as Record<string, { Type: string }>;
  return Object.fromEntries(
    Object.entries(resources)
      .map(([id, r]) => [id, r.Type] as const)
      .sort(([a], [b]) => a.localeCompare(b)),
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const recorded = Object.fromEntries(
    Object.entries(SCENARIOS).map(([name, make]) => [name, logicalIdsOf(make())]),
  );
  process.stdout.write(`${JSON.stringify(recorded, null, 2)}\n`);
}
