/**
 * The deployable stack: one `SwitchboardApi` and the outputs a user needs after `cdk deploy`.
 */
import { Aws, CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { SwitchboardApi } from './switchboard-api.js';
import type { SwitchboardApiProps } from './switchboard-api-props.js';

export interface SwitchboardStackProps extends StackProps {
  /**
   * The props of the `SwitchboardApi`, or a function that builds them in this stack's scope
   * (needed to import existing resources, such as a secret or an event bus by ARN).
   *
   * @default - every `SwitchboardApi` default
   */
  readonly switchboard?: SwitchboardApiProps | ((stack: Stack) => SwitchboardApiProps);
}

/** Source of the sample `put-events` command when no source allow-list is configured. */
const EXAMPLE_SOURCE = 'my-service';

export class SwitchboardStack extends Stack {
  readonly switchboard: SwitchboardApi;

  constructor(scope: Construct, id: string, props: SwitchboardStackProps = {}) {
    const { switchboard, ...stackProps } = props;
    super(scope, id, {
      description: 'Switchboard: WebSocket pub/sub (API Gateway WebSocket, Lambda, DynamoDB, EventBridge)',
      ...stackProps,
    });
    const apiProps = typeof switchboard === 'function' ? switchboard(this) : (switchboard ?? {});
    const api = new SwitchboardApi(this, 'Switchboard', apiProps);
    this.switchboard = api;

    new CfnOutput(this, 'WebSocketUrl', {
      description: 'Connect here: wss://…/{stage}?token=<jwt>',
      value: api.webSocketUrl,
    });
    new CfnOutput(this, 'ManagementUrl', {
      description: 'The @connections management API (callback URL) of the WebSocket stage',
      value: api.callbackUrl,
    });
    new CfnOutput(this, 'AuthUrl', {
      description: 'Token exchange: POST with Authorization: Bearer <jwt>',
      value: api.authUrl,
    });
    new CfnOutput(this, 'TableName', { description: 'The DynamoDB table', value: api.table.tableName });
    new CfnOutput(this, 'EventBusName', {
      description: 'Publish here with PutEvents',
      value: api.eventBusName,
    });
    new CfnOutput(this, 'AuthSecretArn', {
      description: 'The HS256 key (Secrets Manager) that signs and verifies tokens',
      value: api.authSecret.secretArn,
    });
    new CfnOutput(this, 'PublishQueueUrl', {
      description: 'Events on their way to the publish handler; the destination of a redrive',
      value: api.publishQueue.queueUrl,
    });
    new CfnOutput(this, 'DeadLetterQueueUrl', {
      description:
        'Events that could not be queued, or that the publish handler failed on every receive: redrive them to PublishQueueUrl',
      value: api.deadLetterQueue.queueUrl,
    });
    const { dashboard } = api.monitoring;
    if (dashboard) {
      new CfnOutput(this, 'DashboardUrl', {
        description: 'The CloudWatch dashboard',
        value: `https://${Aws.REGION}.console.aws.amazon.com/cloudwatch/home?region=${Aws.REGION}#dashboards:name=${dashboard.dashboardName}`,
      });
    }
    if (api.domainName && api.config.domain) {
      new CfnOutput(this, 'CustomDomainTarget', {
        description: `Point ${api.config.domain.domainName} here (CNAME, or a Route 53 alias)`,
        value: api.domainName.regionalDomainName,
      });
    }

    const detail = JSON.stringify({ channel: 'announcements', data: { hello: 'world' } });
    const entries = JSON.stringify([
      {
        EventBusName: api.eventBusName,
        Source: api.config.eventSources?.[0] ?? EXAMPLE_SOURCE,
        DetailType: 'greeting',
        Detail: detail,
      },
    ]);
    new CfnOutput(this, 'PutEventsExample', {
      description: 'Publish a test event to the announcements channel',
      value: `aws events put-events --region ${Aws.REGION} --entries '${entries}'`,
    });
  }
}
