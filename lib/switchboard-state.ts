/**
 * `SwitchboardState`: what a deployment keeps between deploys. The DynamoDB table (connections,
 * subscriptions, history; `adapters/table-schema.ts`), the HS256 secret (generated unless
 * `auth.secret` is given) and the dead-letter queue both pipelines redrive into.
 *
 * Built in the `SwitchboardApi`'s scope (see `SwitchboardPart`): these are the resources whose
 * replacement would lose data.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import {
  BillingMode,
  type GlobalSecondaryIndexProps,
  Table,
  TableEncryption,
} from 'aws-cdk-lib/aws-dynamodb';
import { type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { acknowledge } from './nag.js';
import { SwitchboardPart } from './switchboard-part.js';
import { tableDefinition } from './table-definition.js';

const ROTATION_REASON =
  'The HS256 key is shared with the services that mint tokens and read once at init by the handlers; automatic rotation would break every issuer at once. Rotation is a coordinated manual procedure (docs/deploy.md).';

export interface SwitchboardStateProps {
  /** Applied to the table, the generated secret and the dead-letter queue; not `DESTROY` turns on deletion protection. */
  readonly removalPolicy: RemovalPolicy;
  /** An existing HS256 secret; none is generated then. */
  readonly authSecret?: ISecret;
}

export class SwitchboardState extends SwitchboardPart {
  readonly table: Table;
  /** The table's global secondary indexes, as added (the monitoring watches each). */
  readonly tableIndexes: readonly GlobalSecondaryIndexProps[];
  readonly authSecret: ISecret | Secret;
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: SwitchboardStateProps) {
    super(scope, id);
    const { removalPolicy } = props;

    const { timeToLiveAttribute, globalSecondaryIndexes, ...keys } = tableDefinition();
    this.table = this.own(
      new Table(this.home, 'Table', {
        ...keys,
        billingMode: BillingMode.PAY_PER_REQUEST,
        timeToLiveAttribute,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        encryption: TableEncryption.AWS_MANAGED,
        deletionProtection: removalPolicy !== RemovalPolicy.DESTROY,
        removalPolicy,
      }),
    );
    for (const index of globalSecondaryIndexes) this.table.addGlobalSecondaryIndex(index);
    this.tableIndexes = globalSecondaryIndexes;

    if (props.authSecret) {
      this.authSecret = props.authSecret;
    } else {
      const generated = this.own(
        new Secret(this.home, 'AuthSecret', {
          description:
            'Switchboard HS256 key: verifies HS256 tokens and signs the short tokens of /api/v1/auth',
          // 64 alphanumerics: 64 bytes, twice what HS256 needs, and safe to paste into a shell.
          generateSecretString: { passwordLength: 64, excludePunctuation: true },
          removalPolicy,
        }),
      );
      acknowledge(generated, 'AwsSolutions-SMG4', ROTATION_REASON);
      this.authSecret = generated;
    }

    this.deadLetterQueue = this.own(
      new Queue(this.home, 'DeadLetterQueue', {
        encryption: QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        retentionPeriod: Duration.days(14),
        removalPolicy,
      }),
    );
    // No AwsSolutions-SQS3 finding: cdk-nag sees this queue as the publish queue's redrive target.
  }
}
