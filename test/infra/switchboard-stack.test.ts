/**
 * The deployed template, as `cdk synth` builds it (cdk.json context, default props, real esbuild
 * bundles): everything a regression could silently break.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { App } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { build } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { ENV, loadConfig } from '../../adapters/config.js';
import { METRIC, METRICS_NAMESPACE } from '../../adapters/observability.js';
import { createTableInput, TABLE_SCHEMA } from '../../adapters/table-schema.js';
import { DEFAULT_CHANNEL_POLICY } from '../../core/channel-policy.js';
import {
  HANDLER_LIST,
  handlerSpec,
  MOCK_ROUTES,
  ROUTE_SELECTION_EXPRESSION,
  TRIGGER_ENTRIES,
  WEBSOCKET_ROUTES,
} from '../../lambdas/handlers.js';
import { adapterPermissions, BUNDLE_BUDGET, esbuildOptionsFor } from '../../lib/bundling.js';
import {
  AUTH_ROUTE_PATH,
  HTTP_ACCESS_LOG_FIELDS,
  WEBSOCKET_ACCESS_LOG_FIELDS,
} from '../../lib/switchboard-api.js';
import type { SwitchboardStack } from '../../lib/switchboard-stack.js';
import {
  logicalId,
  type PolicyStatement,
  statementsOf as policyStatements,
  property,
  resourcesOfType,
  synthApp,
  synthStack,
  variablesOf,
} from './synth.js';

type Statement = PolicyStatement;

const ENTRIES = HANDLER_LIST.map((spec) => spec.entry);
const asArray = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

let app: App;
let stack: SwitchboardStack;
let template: Template;

beforeAll(() => {
  ({ app, stack, template } = synthApp({ bundle: true }));
});

const api = () => stack.switchboard;
const fnId = (entry: string) => logicalId(stack, api().handlers[entry]?.function as never);
const ref = (construct: { node: { defaultChild?: unknown } }) => ({ Ref: logicalId(stack, construct) });

/** The statements of the policy attached to a handler's role. */
function statementsOf(entry: string): Statement[] {
  const roleId = logicalId(stack, api().handlers[entry]?.role as never);
  const policies = Object.values(resourcesOfType(template, 'AWS::IAM::Policy')).filter((p) =>
    JSON.stringify(p.Properties?.Roles).includes(`"${roleId}"`),
  );
  return policies.flatMap((p) => policyStatements(p));
}
const actionsOf = (entry: string) => statementsOf(entry).flatMap((s) => asArray(s.Action));

describe('WebSocket API', () => {
  it('selects routes on the body field the protocol uses', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      ProtocolType: 'WEBSOCKET',
      RouteSelectionExpression: ROUTE_SELECTION_EXPRESSION,
    });
  });

  it.each(WEBSOCKET_ROUTES)(
    'routes $routeKey to the $entry handler (two-way: $twoWay)',
    ({ routeKey, entry, twoWay }) => {
      const routes = resourcesOfType(template, 'AWS::ApiGatewayV2::Route');
      const [routeId, route] =
        Object.entries(routes).find(([, r]) => r.Properties?.RouteKey === routeKey) ?? [];
      expect(route, `no route ${routeKey}`).toBeDefined();
      expect(route?.Properties?.ApiId).toEqual(ref(api().webSocketApi));

      const target = JSON.stringify(route?.Properties?.Target);
      const integrations = resourcesOfType(template, 'AWS::ApiGatewayV2::Integration');
      const integrationId = Object.keys(integrations).find((id) => target.includes(`"${id}"`));
      expect(integrationId, `route ${routeKey} has no integration`).toBeDefined();
      const integration = integrations[integrationId as string];
      expect(integration?.Properties?.IntegrationType).toBe('AWS_PROXY');
      expect(JSON.stringify(integration?.Properties?.IntegrationUri)).toContain(`"${fnId(entry)}"`);

      const responses = Object.values(resourcesOfType(template, 'AWS::ApiGatewayV2::RouteResponse')).filter(
        (r) => (r.Properties?.RouteId as { Ref?: string })?.Ref === routeId,
      );
      expect(responses.length).toBe(twoWay ? 1 : 0);
      if (twoWay) expect(route?.Properties?.RouteResponseSelectionExpression).toBe('$default');
    },
  );

  it.each(MOCK_ROUTES)(
    'serves $routeKey itself: a MOCK integration answering its request template, one-way',
    ({ routeKey, requestTemplate }) => {
      const routes = resourcesOfType(template, 'AWS::ApiGatewayV2::Route');
      const [routeId, route] =
        Object.entries(routes).find(([, r]) => r.Properties?.RouteKey === routeKey) ?? [];
      expect(route, `no route ${routeKey}`).toBeDefined();
      const target = JSON.stringify(route?.Properties?.Target);
      const integrations = resourcesOfType(template, 'AWS::ApiGatewayV2::Integration');
      const integration = Object.entries(integrations).find(([id]) => target.includes(`"${id}"`))?.[1];
      expect(integration?.Properties).toMatchObject({
        IntegrationType: 'MOCK',
        RequestTemplates: { $default: requestTemplate },
        TemplateSelectionExpression: '\\$default',
      });
      // No function behind it (CDK writes an empty IntegrationUri for a mock).
      expect(integration?.Properties?.IntegrationUri || undefined).toBeUndefined();
      // One-way: no route response, so API Gateway sends nothing back.
      const responses = Object.values(resourcesOfType(template, 'AWS::ApiGatewayV2::RouteResponse')).filter(
        (r) => (r.Properties?.RouteId as { Ref?: string })?.Ref === routeId,
      );
      expect(responses).toEqual([]);
      expect(route?.Properties?.RouteResponseSelectionExpression).toBeUndefined();
    },
  );

  it('has exactly the routes of lambdas/handlers.ts', () => {
    const keys = Object.values(resourcesOfType(template, 'AWS::ApiGatewayV2::Route'))
      .filter((r) => JSON.stringify(r.Properties?.ApiId) === JSON.stringify(ref(api().webSocketApi)))
      .map((r) => r.Properties?.RouteKey);
    expect(keys.sort()).toEqual([...WEBSOCKET_ROUTES, ...MOCK_ROUTES].map((r) => r.routeKey).sort());
  });

  it('deploys the ws stage automatically, with stage and $connect throttling', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      ApiId: ref(api().webSocketApi),
      StageName: 'ws',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 1000, ThrottlingBurstLimit: 2000 },
      RouteSettings: { $connect: { ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 } },
    });
  });

  it('writes JSON access logs without the query string (where browsers put tokens)', () => {
    const stage = resourcesOfType(template, 'AWS::ApiGatewayV2::Stage')[logicalId(stack, api().stage)];
    const settings = stage?.Properties?.AccessLogSettings as { Format: string; DestinationArn: unknown };
    const format = JSON.parse(settings.Format) as Record<string, string>;
    expect(format).toEqual(WEBSOCKET_ACCESS_LOG_FIELDS);
    for (const value of Object.values(format)) expect(value).toMatch(/^\$context\.[A-Za-z.]+$/);
    expect(settings.Format).not.toMatch(/query|querystring|\$request|path|header|authorization/i);
    expect(format).toHaveProperty('requestId');
  });

  it('sets the account logging role before the stage (WebSocket access logs need it)', () => {
    template.hasResourceProperties('AWS::ApiGateway::Account', { CloudWatchRoleArn: Match.anyValue() });
    const stage = resourcesOfType(template, 'AWS::ApiGatewayV2::Stage')[logicalId(stack, api().stage)];
    const accountId = Object.keys(resourcesOfType(template, 'AWS::ApiGateway::Account'))[0];
    expect(stage?.DependsOn).toContain(accountId);
  });
});

describe('token exchange', () => {
  it('routes POST /api/v1/auth to lambdas/auth.ts', () => {
    const routes = Object.values(resourcesOfType(template, 'AWS::ApiGatewayV2::Route')).filter(
      (r) => r.Properties?.RouteKey === `POST ${AUTH_ROUTE_PATH}`,
    );
    expect(routes).toHaveLength(1);
    const target = JSON.stringify(routes[0]?.Properties?.Target);
    const integrations = resourcesOfType(template, 'AWS::ApiGatewayV2::Integration');
    const integration = Object.entries(integrations).find(([id]) => target.includes(`"${id}"`))?.[1];
    expect(integration?.Properties).toMatchObject({
      IntegrationType: 'AWS_PROXY',
      PayloadFormatVersion: '2.0',
    });
    expect(JSON.stringify(integration?.Properties?.IntegrationUri)).toContain(
      `"${fnId(TRIGGER_ENTRIES.auth)}"`,
    );
  });

  it('logs JSON without path or query string, and is throttled', () => {
    const stage = resourcesOfType(template, 'AWS::ApiGatewayV2::Stage')[logicalId(stack, api().httpStage)];
    const settings = stage?.Properties?.AccessLogSettings as { Format: string };
    expect(JSON.parse(settings.Format)).toEqual(HTTP_ACCESS_LOG_FIELDS);
    expect(settings.Format).not.toMatch(/query|\$context\.path|\$request|header|authorization/i);
    expect(stage?.Properties).toMatchObject({ StageName: '$default', AutoDeploy: true });
    expect(stage?.Properties?.DefaultRouteSettings).toMatchObject({
      ThrottlingRateLimit: expect.any(Number),
    });
  });
});

describe('handlers', () => {
  it('creates one function per entry of lambdas/handlers.ts', () => {
    expect(Object.keys(api().handlers).sort()).toEqual([...ENTRIES].sort());
    template.resourceCountIs('AWS::Lambda::Function', ENTRIES.length);
  });

  it.each(ENTRIES)('%s runs on Node 22, arm64, ESM, with source maps and its own log group', (entry) => {
    const fn = resourcesOfType(template, 'AWS::Lambda::Function')[fnId(entry)];
    expect(fn?.Properties).toMatchObject({
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      LoggingConfig: { LogFormat: 'JSON', LogGroup: ref(api().handlers[entry]?.logGroup as never) },
      Environment: { Variables: { NODE_OPTIONS: '--enable-source-maps' } },
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
    const logGroup = resourcesOfType(template, 'AWS::Logs::LogGroup')[
      logicalId(stack, api().handlers[entry]?.logGroup as never)
    ];
    expect(logGroup?.Properties?.RetentionInDays).toBe(30);
  });

  it.each(ENTRIES)('%s is the esbuild bundle of its lambdas/ file, byte for byte', async (entry) => {
    const fn = resourcesOfType(template, 'AWS::Lambda::Function')[fnId(entry)];
    const key = property<{ S3Key: string }>(fn, 'Code').S3Key;
    const assembly = app.synth();
    const manifest = JSON.parse(
      readFileSync(join(assembly.directory, `${stack.artifactId}.assets.json`), 'utf8'),
    ) as { files: Record<string, { source: { path: string } }> };
    const asset = manifest.files[key.replace(/\.zip$/, '')];
    expect(asset, `no asset for ${key}`).toBeDefined();
    const deployed = readFileSync(join(assembly.directory, asset?.source.path as string, 'index.mjs'));

    const result = await build({ ...esbuildOptionsFor(entry, '/bundle/index.mjs'), write: false });
    const code = result.outputFiles.find((f) => f.path.endsWith('index.mjs'));
    expect(Buffer.from(code?.contents ?? []).equals(deployed)).toBe(true);
  });

  it.each(ENTRIES)('%s weighs no more than the bundle budget, minified', async (entry) => {
    const result = await build({ ...esbuildOptionsFor(entry, '/bundle/index.mjs'), write: false });
    const code = result.outputFiles.find((f) => f.path.endsWith('index.mjs'));
    expect(code?.contents.length).toBeGreaterThan(0);
    expect(code?.contents.length).toBeLessThanOrEqual(BUNDLE_BUDGET.minifiedBytes);
  });

  it.each(ENTRIES)('%s is granted what the adapters in its bundle use', async (entry) => {
    const { metafile } = await build({
      ...esbuildOptionsFor(entry, '/bundle/index.mjs'),
      write: false,
      metafile: true,
    });
    const access = handlerSpec(entry).access;
    expect({
      table: access?.table !== 'none',
      secret: access?.secret,
      manageConnections: access?.manageConnections,
      fanoutQueue: access?.fanoutQueue,
      publishQueue: access?.publishQueue,
    }).toEqual(adapterPermissions(metafile));
  });

  it('sets exactly the environment names adapters/config.ts reads', () => {
    const known = new Set<string>(Object.values(ENV));
    for (const entry of ENTRIES) {
      const fn = resourcesOfType(template, 'AWS::Lambda::Function')[fnId(entry)];
      const variables = variablesOf(fn);
      const names = Object.keys(variables);
      const unknown = names.filter((n) => n.startsWith('SWITCHBOARD_') && !known.has(n));
      expect(unknown, `${entry} sets names no handler reads`).toEqual([]);
      expect(names).toEqual(
        expect.arrayContaining([
          ENV.tableName,
          ENV.callbackUrl,
          ENV.authSecretArn,
          ENV.authMaxTokenLifetimeSeconds,
          ENV.authShortTokenTtlSeconds,
          ENV.allowAnonymous,
          ENV.channelPolicy,
          ENV.maxSubscriptions,
          ENV.maxMessageBytes,
          ENV.idleTimeoutSeconds,
          ENV.maxConnectionSeconds,
          'POWERTOOLS_SERVICE_NAME',
          'POWERTOOLS_METRICS_NAMESPACE',
        ]),
      );
      // Local-only settings must never reach AWS: the secret value and the DynamoDB endpoint.
      expect(names).not.toContain(ENV.authSecret);
      expect(names).not.toContain(ENV.dynamodbEndpoint);
      expect(variables[ENV.tableName]).toEqual(ref(api().table));
      expect(variables[ENV.idleTimeoutSeconds]).toBe('600');
      expect(variables[ENV.maxConnectionSeconds]).toBe('7200');
      expect(variables.POWERTOOLS_METRICS_NAMESPACE).toBe(METRICS_NAMESPACE);
      expect(JSON.parse(variables[ENV.channelPolicy] as string)).toEqual(DEFAULT_CHANNEL_POLICY);
    }
  });

  it('gives the handlers an environment loadConfig accepts', () => {
    const fn = resourcesOfType(template, 'AWS::Lambda::Function')[fnId('connect')];
    const variables = variablesOf(fn);
    // CloudFormation references become what they resolve to on AWS.
    const placeholders: Record<string, string> = {
      [ENV.tableName]: 'Switchboard-Table-ABC',
      [ENV.callbackUrl]: 'https://abcdef1234.execute-api.eu-west-1.amazonaws.com/ws',
      [ENV.authSecretArn]: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:AuthSecret-AbCdEf',
      [ENV.fanoutQueueUrl]: 'https://sqs.eu-west-1.amazonaws.com/123456789012/Switchboard-Fanout-ABC',
    };
    const env = Object.fromEntries(
      Object.entries(variables).map(([k, v]) => [k, typeof v === 'string' ? v : (placeholders[k] ?? 'x')]),
    );
    expect(() => loadConfig(env)).not.toThrow();
    expect(loadConfig(env).callbackUrl).toBe(placeholders[ENV.callbackUrl]);
  });
});

describe('least privilege', () => {
  const readActions = ['dynamodb:GetItem', 'dynamodb:Query'];
  const writeActions = ['dynamodb:PutItem', 'dynamodb:DeleteItem'];

  it.each(ENTRIES)(
    '%s gets the table, secret and @connections access lambdas/handlers.ts gives it, no more',
    (entry) => {
      const access = handlerSpec(entry).access;
      const actions = actionsOf(entry);
      if (access?.table === 'none') expect(actions.filter((a) => a.startsWith('dynamodb:'))).toEqual([]);
      if (access?.table === 'write') {
        expect(actions).toEqual(expect.arrayContaining(writeActions));
        for (const a of readActions) expect(actions).not.toContain(a);
      }
      if (access?.table === 'readWrite')
        expect(actions).toEqual(expect.arrayContaining([...readActions, ...writeActions]));
      expect(actions.includes('secretsmanager:GetSecretValue')).toBe(access?.secret);
      expect(actions.includes('execute-api:ManageConnections')).toBe(access?.manageConnections);
      for (const s of statementsOf(entry)) {
        expect(s.Resource, `${entry}: ${JSON.stringify(s.Action)} on *`).not.toBe('*');
      }
    },
  );

  it('scopes ManageConnections to the stage: execute-api:{api}/ws/*/@connections/*', () => {
    const expected = {
      'Fn::Join': [
        '',
        [
          'arn:',
          { Ref: 'AWS::Partition' },
          ':execute-api:',
          { Ref: 'AWS::Region' },
          ':',
          { Ref: 'AWS::AccountId' },
          ':',
          ref(api().webSocketApi),
          '/ws/*/@connections/*',
        ],
      ],
    };
    const granted = ENTRIES.filter((e) => handlerSpec(e).access.manageConnections);
    expect(granted.length).toBeGreaterThan(0);
    for (const entry of granted) {
      const statements = statementsOf(entry).filter((s) =>
        asArray(s.Action).includes('execute-api:ManageConnections'),
      );
      expect(statements).toEqual([expect.objectContaining({ Effect: 'Allow', Resource: expected })]);
    }
  });

  it('uses a role per handler that only writes its own log group (no managed policies)', () => {
    for (const entry of ENTRIES) {
      const role = resourcesOfType(template, 'AWS::IAM::Role')[
        logicalId(stack, api().handlers[entry]?.role as never)
      ];
      expect(role?.Properties?.ManagedPolicyArns).toBeUndefined();
      const logs = statementsOf(entry).filter((s) => asArray(s.Action).some((a) => a.startsWith('logs:')));
      expect(logs).toEqual([
        expect.objectContaining({
          Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          Resource: { 'Fn::GetAtt': [logicalId(stack, api().handlers[entry]?.logGroup as never), 'Arn'] },
        }),
      ]);
    }
  });
});

describe('DynamoDB table', () => {
  it('is built from adapters/table-schema.ts: keys, attribute types and the sweep index', () => {
    const input = createTableInput('any');
    const table = resourcesOfType(template, 'AWS::DynamoDB::Table')[logicalId(stack, api().table)];
    const props = table?.Properties as Record<string, unknown[]>;
    expect(props.KeySchema).toEqual(input.KeySchema);
    expect(new Set(props.AttributeDefinitions)).toEqual(new Set(input.AttributeDefinitions));
    expect(props.GlobalSecondaryIndexes).toEqual(input.GlobalSecondaryIndexes);
  });

  it('is on-demand, with TTL, point-in-time recovery and encryption, and retained', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      Properties: {
        BillingMode: 'PAY_PER_REQUEST',
        TimeToLiveSpecification: { AttributeName: TABLE_SCHEMA.ttlAttribute, Enabled: true },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
        DeletionProtectionEnabled: true,
      },
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });
});

describe('sweep', () => {
  it('runs the sweep every minute, without retries that could overlap the next run', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      Targets: [
        {
          Arn: { 'Fn::GetAtt': [fnId(TRIGGER_ENTRIES.sweep), 'Arn'] },
          RetryPolicy: { MaximumRetryAttempts: 0 },
        },
      ],
    });
  });

  it('runs one sweep at a time, and drops an event that waited a period for the run before it', () => {
    const sweepFunction = resourcesOfType(template, 'AWS::Lambda::Function')[fnId(TRIGGER_ENTRIES.sweep)];
    expect(sweepFunction?.Properties?.ReservedConcurrentExecutions).toBe(1);
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: fnId(TRIGGER_ENTRIES.sweep) },
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 60,
    });
  });
});

describe('monitoring', () => {
  it('charts every metric the handlers emit, in their namespace and service, when asked for a dashboard', () => {
    const { template: withDashboard } = synthStack(() => ({ dashboard: true }));
    const dashboard = Object.values(resourcesOfType(withDashboard, 'AWS::CloudWatch::Dashboard'))[0];
    const body = JSON.stringify(dashboard?.Properties?.DashboardBody);
    for (const name of Object.values(METRIC)) expect(body, name).toContain(`\\"${name}\\"`);
    expect(body).toContain(`\\"${METRICS_NAMESPACE}\\"`);
    expect(body).toContain('\\"service\\",\\"switchboard\\"');
  });
});

describe('outputs', () => {
  it('gives the endpoints, the table, the bus and a ready-to-paste put-events', () => {
    const outputs = template.findOutputs('*');
    expect(Object.keys(outputs)).toEqual(
      expect.arrayContaining([
        'WebSocketUrl',
        'ManagementUrl',
        'AuthUrl',
        'TableName',
        'EventBusName',
        'PutEventsExample',
      ]),
    );
    const text = (name: string) => JSON.stringify(outputs[name]?.Value);
    expect(text('WebSocketUrl')).toContain('wss://');
    expect(text('WebSocketUrl')).toContain('/ws');
    expect(text('ManagementUrl')).toContain('https://');
    expect(text('AuthUrl')).toContain(AUTH_ROUTE_PATH);
    expect(text('PutEventsExample')).toContain('aws events put-events');
    expect(text('PutEventsExample')).toContain('announcements');
    expect(outputs.EventBusName?.Value).toEqual({
      Ref: logicalId(stack, stack.switchboard.eventBus as never),
    });
  });
});
