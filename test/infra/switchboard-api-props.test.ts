/**
 * `SwitchboardApi` props: each option reaches the template, and bad values are refused at synth
 * with a message that names the prop and shows the value received.
 */
import { type CfnResource, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Certificate } from 'aws-cdk-lib/aws-certificatemanager';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { AccountRootPrincipal, type CfnRole, Role } from 'aws-cdk-lib/aws-iam';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { describe, expect, it } from 'vitest';
import { ENV } from '../../adapters/config.js';
import { switchboardEventPattern } from '../../adapters/event-pattern.js';
import { type ChannelRule, DEFAULT_PRESENCE_POLICY } from '../../core/channel-policy.js';
import { SwitchboardApi } from '../../lib/switchboard-api.js';
import { type SwitchboardApiProps, SwitchboardPropsError } from '../../lib/switchboard-api-props.js';
import { SwitchboardStack } from '../../lib/switchboard-stack.js';
import { newApp, resourcesOfType, synthStack, variablesOf } from './synth.js';

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:switchboard-key-AbCdEf';
const CERTIFICATE_ARN = 'arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-0000-0000-000000000000';

/** The stack's own event bus, as a CloudFormation resource. */
const busOf = (stack: SwitchboardStack) => stack.switchboard.eventBus.node.defaultChild as CfnResource;

function variables(template: ReturnType<typeof synthStack>['template']): Record<string, unknown> {
  return variablesOf(Object.values(resourcesOfType(template, 'AWS::Lambda::Function'))[0]);
}

describe('options reach the template', () => {
  it('configures auth: an existing secret, JWKS, issuer, audience and lifetimes', () => {
    const { template } = synthStack((stack) => ({
      auth: {
        secret: Secret.fromSecretCompleteArn(stack, 'Key', SECRET_ARN),
        jwksUrl: 'https://id.example.com/.well-known/jwks.json',
        issuer: 'https://id.example.com/',
        audience: 'switchboard',
        maxTokenLifetime: Duration.hours(8),
        shortTokenLifetime: Duration.seconds(30),
      },
    }));
    template.resourceCountIs('AWS::SecretsManager::Secret', 0);
    expect(variables(template)).toMatchObject({
      [ENV.authSecretArn]: SECRET_ARN,
      [ENV.authJwksUrl]: 'https://id.example.com/.well-known/jwks.json',
      [ENV.authIssuer]: 'https://id.example.com/',
      [ENV.authAudience]: 'switchboard',
      [ENV.authMaxTokenLifetimeSeconds]: '28800',
      [ENV.authShortTokenTtlSeconds]: '30',
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
            Resource: SECRET_ARN,
          }),
        ]),
      },
    });
  });

  it('generates a 64-character secret when none is given', () => {
    const { template } = synthStack();
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: { PasswordLength: 64, ExcludePunctuation: true },
    });
  });

  it('passes channel policy, origins, anonymous access and limits to every handler', () => {
    const channelPolicy: ChannelRule[] = [
      { pattern: 'public:*', allow: 'anyone' },
      { pattern: '*', allow: { roles: ['member'] } },
    ];
    const { template } = synthStack({
      channelPolicy,
      allowedOrigins: ['https://app.example.com', 'http://localhost:5173'],
      allowAnonymous: true,
      maxSubscriptions: 20,
      maxMessageBytes: 4096,
      rateLimit: { burst: 5, perSecond: 2 },
      history: { retention: Duration.minutes(10), maxEvents: 50 },
    });
    expect(variables(template)).toMatchObject({
      [ENV.rateLimitBurst]: '5',
      [ENV.rateLimitPerSecond]: '2',
      [ENV.rateLimitCloseAfter]: '50',
      [ENV.historySeconds]: '600',
      [ENV.historyMaxEvents]: '50',
      [ENV.channelPolicy]: JSON.stringify(channelPolicy),
      [ENV.allowedOrigins]: 'https://app.example.com,http://localhost:5173',
      [ENV.allowAnonymous]: 'true',
      [ENV.maxSubscriptions]: '20',
      [ENV.maxMessageBytes]: '4096',
    });
  });

  it('passes the presence policy to every handler: the default, a custom one, or none', () => {
    const custom: ChannelRule[] = [{ pattern: 'agents:*', allow: { roles: ['agent'] } }];
    const presenceOf = (props: SwitchboardApiProps) =>
      JSON.parse(variables(synthStack(props).template)[ENV.presencePolicy] as string);
    expect(presenceOf({})).toEqual(DEFAULT_PRESENCE_POLICY);
    expect(presenceOf({ presencePolicy: custom })).toEqual(custom);
    expect(presenceOf({ presencePolicy: [] })).toEqual([]);
  });

  it('allows no cross-origin page to call the token exchange unless origins are listed', () => {
    // Prepare
    const corsOf = (props: SwitchboardApiProps) =>
      Object.values(synthStack(props).template.findResources('AWS::ApiGatewayV2::Api'))
        .map((api) => api.Properties)
        .find((p) => p.ProtocolType === 'HTTP')?.CorsConfiguration;
    // Act
    const byDefault = corsOf({});
    const withConnectOrigins = corsOf({ allowedOrigins: ['https://app.example.com'] });
    const listed = corsOf({ tokenExchangeCorsOrigins: ['https://app.example.com', 'http://localhost:5173'] });
    // Assess
    expect(byDefault.AllowOrigins).toEqual([]);
    expect(withConnectOrigins.AllowOrigins).toEqual([]);
    expect(listed).toMatchObject({
      AllowOrigins: ['https://app.example.com', 'http://localhost:5173'],
      AllowMethods: ['POST'],
      AllowHeaders: ['authorization', 'content-type'],
    });
  });

  it('names the stage, and throttles the stage and the given routes', () => {
    const { template } = synthStack({
      stageName: 'live',
      throttle: { rateLimit: 50, burstLimit: 80 },
      routeThrottle: { subscribe: { rateLimit: 10, burstLimit: 20 } },
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: 'live',
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 80 },
      RouteSettings: { subscribe: { ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20 } },
    });
    expect(JSON.stringify(variables(template)[ENV.callbackUrl])).toContain('/live');
  });

  it('leaves route settings out when routeThrottle is {}', () => {
    const { template } = synthStack({ routeThrottle: {} });
    const stage = Object.values(resourcesOfType(template, 'AWS::ApiGatewayV2::Stage')).find(
      (s) => s.Properties?.StageName === 'ws',
    );
    expect(stage?.Properties?.RouteSettings).toBeUndefined();
  });

  it('listens on an existing bus, to the allowed sources only', () => {
    const { template } = synthStack((stack) => ({
      eventBus: EventBus.fromEventBusName(stack, 'Bus', 'apps'),
      eventSources: ['cluster-code-service', 'billing'],
      maxEventAge: Duration.minutes(10),
    }));
    template.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: 'apps',
      EventPattern: switchboardEventPattern({ sources: ['cluster-code-service', 'billing'] }),
      Targets: [Match.objectLike({ RetryPolicy: Match.objectLike({ MaximumEventAgeInSeconds: 600 }) })],
    });
    expect(JSON.stringify(template.findOutputs('PutEventsExample'))).toContain('cluster-code-service');
    expect(template.findOutputs('EventBusName').EventBusName?.Value).toBe('apps');
  });

  it('sweeps at the given period', () => {
    const { template } = synthStack({ sweepPeriod: Duration.minutes(1) });
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(1 minute)' });
  });

  it('maps a custom domain under the stage name, so the path stays /ws', () => {
    const { template } = synthStack((stack) => ({
      domain: {
        domainName: 'realtime.example.com',
        certificate: Certificate.fromCertificateArn(stack, 'Certificate', CERTIFICATE_ARN),
      },
    }));
    template.hasResourceProperties('AWS::ApiGatewayV2::DomainName', {
      DomainName: 'realtime.example.com',
      DomainNameConfigurations: [
        Match.objectLike({ CertificateArn: CERTIFICATE_ARN, EndpointType: 'REGIONAL' }),
      ],
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::ApiMapping', {
      ApiMappingKey: 'ws',
      Stage: Match.anyValue(),
    });
    expect(template.findOutputs('WebSocketUrl').WebSocketUrl?.Value).toBe('wss://realtime.example.com/ws');
    expect(template.findOutputs('CustomDomainTarget').CustomDomainTarget).toBeDefined();
  });

  it('applies log retention, removal policy, service name and alarm actions', () => {
    const { template } = synthStack((stack) => ({
      logRetention: RetentionDays.ONE_WEEK,
      removalPolicy: RemovalPolicy.DESTROY,
      serviceName: 'realtime-eu',
      alarmTopic: Topic.fromTopicArn(stack, 'Alarms', 'arn:aws:sns:eu-west-1:123456789012:alarms'),
    }));
    for (const group of Object.values(resourcesOfType(template, 'AWS::Logs::LogGroup'))) {
      expect(group.Properties?.RetentionInDays).toBe(7);
      expect(group.DeletionPolicy).toBe('Delete');
    }
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Delete',
      Properties: Match.objectLike({ DeletionProtectionEnabled: false }),
    });
    expect(variables(template).POWERTOOLS_SERVICE_NAME).toBe('realtime-eu');
    for (const alarm of Object.values(resourcesOfType(template, 'AWS::CloudWatch::Alarm'))) {
      expect(alarm.Properties?.AlarmActions).toEqual(['arn:aws:sns:eu-west-1:123456789012:alarms']);
    }
  });

  it('grants publishers PutEvents on the bus the rule listens to: its own bus by default', () => {
    // Prepare
    const stack = new SwitchboardStack(newApp(), 'Test');
    const publisher = new Role(stack, 'Publisher', { assumedBy: new AccountRootPrincipal() });
    // Act
    stack.switchboard.grantPublish(publisher);
    // Assess
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: stack.getLogicalId(publisher.node.defaultChild as CfnRole) }],
      PolicyDocument: {
        Statement: [
          {
            Effect: 'Allow',
            Action: 'events:PutEvents',
            Resource: { 'Fn::GetAtt': [stack.getLogicalId(busOf(stack)), 'Arn'] },
          },
        ],
      },
    });
  });

  it('grants PutEvents on the default bus when that is the bus it was given', () => {
    // Prepare
    const stack = new SwitchboardStack(newApp(), 'Test', {
      switchboard: (s) => ({ eventBus: EventBus.fromEventBusName(s, 'DefaultBus', 'default') }),
    });
    const publisher = new Role(stack, 'Publisher', { assumedBy: new AccountRootPrincipal() });
    // Act
    stack.switchboard.grantPublish(publisher);
    // Assess
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::Events::EventBus', 0);
    template.hasResourceProperties('AWS::Events::Rule', { EventBusName: 'default' });
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: stack.getLogicalId(publisher.node.defaultChild as CfnRole) }],
      PolicyDocument: {
        Statement: [
          Match.objectLike({
            Action: 'events:PutEvents',
            Resource: {
              'Fn::Join': [
                '',
                [
                  'arn:',
                  { Ref: 'AWS::Partition' },
                  ':events:',
                  { Ref: 'AWS::Region' },
                  ':',
                  { Ref: 'AWS::AccountId' },
                  ':event-bus/default',
                ],
              ],
            },
          }),
        ],
      },
    });
  });

  it('grants PutEvents for given sources only, with the events:source condition', () => {
    // Prepare
    const stack = new SwitchboardStack(newApp(), 'Test');
    const publisher = new Role(stack, 'Publisher', { assumedBy: new AccountRootPrincipal() });
    // Act
    stack.switchboard.grantPublish(publisher, ['billing-service']);
    // Assess
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: stack.getLogicalId(publisher.node.defaultChild as CfnRole) }],
      PolicyDocument: {
        Statement: [
          {
            Effect: 'Allow',
            Action: 'events:PutEvents',
            Resource: { 'Fn::GetAtt': [stack.getLogicalId(busOf(stack)), 'Arn'] },
            Condition: { StringEquals: { 'events:source': ['billing-service'] } },
          },
        ],
      },
    });
    expect(() => stack.switchboard.grantPublish(publisher, [])).toThrow(/at least one source/);
  });

  it('creates a bus of its own, which the rule listens on and the outputs name', () => {
    // Act
    const { stack, template } = synthStack();
    // Assess
    template.resourceCountIs('AWS::Events::EventBus', 1);
    const bus = { Ref: stack.getLogicalId(busOf(stack)) };
    template.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: bus,
      EventPattern: switchboardEventPattern(),
    });
    expect(template.findOutputs('EventBusName').EventBusName?.Value).toEqual(bus);
    // No publisher is trusted by default: nothing holds PutEvents on it.
    expect(JSON.stringify(resourcesOfType(template, 'AWS::IAM::Policy'))).not.toContain('events:PutEvents');
    template.resourceCountIs('AWS::Events::EventBusPolicy', 0);
  });

  it('binds sources to tenants in the rule pattern and in the handlers environment', () => {
    // Prepare
    const sourceTenants = { 'billing-service': ['acme'], 'crm-service': ['acme', 'globex'] };
    // Act
    const { template } = synthStack({
      eventSources: ['billing-service', 'crm-service', 'ops'],
      sourceTenants,
    });
    // Assess
    const pattern = switchboardEventPattern({
      sources: ['billing-service', 'crm-service', 'ops'],
      sourceTenants,
    });
    template.hasResourceProperties('AWS::Events::Rule', { EventPattern: pattern });
    expect(pattern).toMatchObject({
      $or: [
        { source: ['ops'] },
        { source: ['billing-service'], detail: { tenant: ['acme'] } },
        { source: ['crm-service'], detail: { tenant: ['acme', 'globex'] } },
      ],
    });
    expect(variables(template)).toMatchObject({
      [ENV.eventSources]: 'billing-service,crm-service,ops',
      [ENV.sourceTenants]: JSON.stringify(sourceTenants),
    });
  });

  it('leaves the account logging role alone when asked', () => {
    const { template } = synthStack({ apiGatewayCloudWatchRole: false });
    template.resourceCountIs('AWS::ApiGateway::Account', 0);
  });
});

describe('bad props are refused before anything is built', () => {
  const cases: [string, SwitchboardApiProps | ((stack: Stack) => SwitchboardApiProps), RegExp][] = [
    ['stageName', { stageName: 'my stage' }, /stageName must be 1-128 characters .* \(received "my stage"\)/],
    [
      'maxSubscriptions',
      { maxSubscriptions: 0 },
      /maxSubscriptions must be an integer from 1 to 10000 \(received 0\)/,
    ],
    ['maxMessageBytes', { maxMessageBytes: 200_000 }, /maxMessageBytes .* \(received 200000\)/],
    ['rateLimit.burst', { rateLimit: { burst: 0 } }, /rateLimit.burst must be an integer .* \(received 0\)/],
    [
      'history.retention',
      { history: { retention: Duration.days(8) } },
      /history.retention must be whole seconds .* \(received 8 days\)/,
    ],
    [
      'sweepPeriod',
      { sweepPeriod: Duration.seconds(90) },
      /sweepPeriod must be whole minutes from 1 to 60 \(received 1 minute 30 seconds\)/,
    ],
    ['maxEventAge', { maxEventAge: Duration.hours(12) }, /maxEventAge .* \(received 12 hours\)/],
    [
      'publishReservedConcurrency below the mapping minimum',
      { publishReservedConcurrency: 1 },
      /publishReservedConcurrency must be an integer from 2 to 1000 \(received 1\)/,
    ],
    [
      'publishReservedConcurrency above the mapping maximum',
      { publishReservedConcurrency: 1001 },
      /publishReservedConcurrency must be an integer from 2 to 1000 \(received 1001\)/,
    ],
    [
      'fractional publishReservedConcurrency',
      { publishReservedConcurrency: 2.5 },
      /publishReservedConcurrency must be an integer from 2 to 1000 \(received 2.5\)/,
    ],
    [
      'channelPolicy rule',
      { channelPolicy: [{ pattern: 'a b', allow: 'anyone' }] },
      /channelPolicy\[0\]\.pattern pattern must use channel characters.* \(received \{"pattern":"a b","allow":"anyone"\}\)/,
    ],
    [
      'channelPolicy allow',
      { channelPolicy: [{ pattern: '*', allow: 'everyone' } as unknown as ChannelRule] },
      /channelPolicy\[0\]\.allow .* \(received \{"pattern":"\*","allow":"everyone"\}\)/,
    ],
    [
      'empty channelPolicy',
      { channelPolicy: [] },
      /channelPolicy must hold at least one rule \(received \[\]\)/,
    ],
    [
      'presencePolicy rule',
      { presencePolicy: [{ pattern: 'room:#', allow: 'authenticated' }] },
      /presencePolicy\[0\]\.pattern pattern must use channel characters.* \(received \{"pattern":"room:#","allow":"authenticated"\}\)/,
    ],
    [
      'presencePolicy too large for the environment',
      {
        presencePolicy: Array.from({ length: 20 }, (_, i) => ({
          pattern: `presence-channel-${i}:*`,
          allow: 'authenticated' as const,
        })),
      },
      /presencePolicy must serialize to at most 512 bytes of JSON \(received "\d+ bytes"\)/,
    ],
    [
      'origin with a path',
      { allowedOrigins: ['https://app.example.com/'] },
      /allowedOrigins .* \(received "https:\/\/app.example.com\/"\)/,
    ],
    ['no origins', { allowedOrigins: [] }, /allowedOrigins must list at least one origin/],
    [
      'a CORS wildcard',
      { tokenExchangeCorsOrigins: ['*'] },
      /tokenExchangeCorsOrigins must hold origins like .* \(received "\*"\)/,
    ],
    [
      'http JWKS',
      { auth: { jwksUrl: 'http://id.example.com/jwks' } },
      /auth.jwksUrl must be an https URL \(received "http:\/\/id.example.com\/jwks"\)/,
    ],
    [
      'token lifetime',
      { auth: { maxTokenLifetime: Duration.days(60) } },
      /auth.maxTokenLifetime .* \(received 60 days\)/,
    ],
    [
      'route key',
      { routeThrottle: { publish: { rateLimit: 1 } } },
      /routeThrottle keys must be route keys .* \(received "publish"\)/,
    ],
    [
      'burst',
      { throttle: { burstLimit: 1.5 } },
      /throttle.burstLimit must be an integer .* \(received 1.5\)/,
    ],
    [
      'duplicate source',
      { eventSources: ['a', 'a'] },
      /eventSources must not repeat a source \(received \["a","a"\]\)/,
    ],
    [
      'a bound source eventSources does not accept',
      { eventSources: ['a'], sourceTenants: { b: ['acme'] } },
      /sourceTenants must bind only sources that eventSources accepts \(received "b"\)/,
    ],
    [
      'a bound source without tenants',
      { sourceTenants: { a: [] } },
      /sourceTenants\["a"\] must list at least one tenant \(received \[\]\)/,
    ],
    [
      'a tenant outside the grammar',
      { sourceTenants: { a: ['ac#me'] } },
      /sourceTenants\["a"\] must hold tenants .* \(received "ac#me"\)/,
    ],
    [
      'bindings past the rule pattern quota',
      {
        sourceTenants: Object.fromEntries(
          Array.from({ length: 40 }, (_, i) => [`service-${i}`, [`tenant-number-${i}`]]),
        ),
      },
      /sourceTenants must fit the publish rule's pattern in EventBridge's 2048 characters \(received "\d+ characters"\)/,
    ],
    [
      'upper-case domain',
      (stack) => ({
        domain: {
          domainName: 'Realtime.Example.com',
          certificate: Certificate.fromCertificateArn(stack, 'Certificate', CERTIFICATE_ARN),
        },
      }),
      /domain.domainName must be a lower-case DNS name .* \(received "Realtime.Example.com"\)/,
    ],
    ['service name', { serviceName: 'my service' }, /serviceName .* \(received "my service"\)/],
  ];

  it.each(cases)('%s', (_name, props, message) => {
    const stack = new Stack();
    const resolved = typeof props === 'function' ? props(stack) : props;
    const error = (() => {
      try {
        new SwitchboardApi(stack, 'Switchboard', resolved);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(SwitchboardPropsError);
    expect((error as Error).message).toMatch(message);
    expect(stack.node.tryFindChild('Switchboard')).toBeUndefined();
  });
});
