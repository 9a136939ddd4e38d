/**
 * bin/app.ts: deploy-time values come from CDK context (`-c key=value`), typed and checked; and
 * `cdk synth` itself works offline and quietly.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { ENV } from '../../adapters/config.js';
import { switchboardEventPattern } from '../../adapters/event-pattern.js';
import { CONTEXT_KEYS, ContextError } from '../../bin/app.js';
import { PROJECT_ROOT } from '../../lib/bundling.js';
import { resourcesOfType, synthApp, variablesOf } from './synth.js';

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:switchboard-key-AbCdEf';

describe('context', () => {
  it('turns -c key=value strings into typed props', () => {
    const policy = [{ pattern: '*', allow: 'authenticated' }];
    const { stack, template } = synthApp({
      context: {
        stackName: 'Realtime',
        authSecretArn: SECRET_ARN,
        authIssuer: 'https://id.example.com/',
        authMaxTokenLifetimeSeconds: '3600',
        channelPolicy: JSON.stringify(policy),
        presencePolicy: '[]',
        allowedOrigins: 'https://a.example.com, https://b.example.com',
        tokenExchangeCorsOrigins: 'https://a.example.com',
        allowAnonymous: 'true',
        stageName: 'live',
        throttleRateLimit: '50',
        throttleBurstLimit: '100',
        routeThrottle: '{"$connect":{"rateLimit":5,"burstLimit":10}}',
        maxSubscriptions: '10',
        sweepMinutes: '2',
        eventBus: 'apps',
        eventSources: 'svc-a,svc-b',
        maxEventAgeSeconds: '600',
        publishReservedConcurrency: '30',
        logRetentionDays: '7',
        domainName: 'realtime.example.com',
        certificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-0000-0000-000000000000',
        serviceName: 'realtime',
        removalPolicy: 'destroy',
        alarmTopicArn: 'arn:aws:sns:eu-west-1:123456789012:alarms',
        apiGatewayCloudWatchRole: 'false',
      },
    });
    expect(stack.stackName).toBe('Realtime');
    const fn = Object.values(resourcesOfType(template, 'AWS::Lambda::Function'))[0];
    expect(variablesOf(fn)).toMatchObject({
      [ENV.authSecretArn]: SECRET_ARN,
      [ENV.authIssuer]: 'https://id.example.com/',
      [ENV.authMaxTokenLifetimeSeconds]: '3600',
      [ENV.channelPolicy]: JSON.stringify(policy),
      [ENV.presencePolicy]: '[]',
      [ENV.allowedOrigins]: 'https://a.example.com,https://b.example.com',
      [ENV.allowAnonymous]: 'true',
      [ENV.maxSubscriptions]: '10',
      POWERTOOLS_SERVICE_NAME: 'realtime',
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: 'live',
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
      RouteSettings: { $connect: { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 } },
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      ProtocolType: 'HTTP',
      CorsConfiguration: Match.objectLike({ AllowOrigins: ['https://a.example.com'] }),
    });
    template.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: 'apps',
      EventPattern: switchboardEventPattern({ sources: ['svc-a', 'svc-b'] }),
      Targets: [Match.objectLike({ RetryPolicy: Match.objectLike({ MaximumEventAgeInSeconds: 600 }) })],
    });
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(2 minutes)' });
    template.hasResourceProperties('AWS::Lambda::Function', { ReservedConcurrentExecutions: 30 });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      ScalingConfig: { MaximumConcurrency: 30 },
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 7 });
    template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Delete' });
    template.hasResourceProperties('AWS::ApiGatewayV2::DomainName', { DomainName: 'realtime.example.com' });
    template.resourceCountIs('AWS::SecretsManager::Secret', 0);
    template.resourceCountIs('AWS::ApiGateway::Account', 0);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmActions: ['arn:aws:sns:eu-west-1:123456789012:alarms'],
    });
  });

  it('builds the default stack with no context at all', () => {
    const { stack, template } = synthApp();
    expect(stack.stackName).toBe('Switchboard');
    template.resourceCountIs('AWS::SecretsManager::Secret', 1);
    template.resourceCountIs('AWS::Events::EventBus', 1);
  });

  it('puts a front door with an existing web ACL in front of the API with -c frontDoorWebAclArn', () => {
    // Prepare
    const webAclArn =
      'arn:aws:wafv2:us-east-1:123456789012:global/webacl/sb/00000000-0000-0000-0000-000000000000';
    // Act
    const { template } = synthApp({ context: { frontDoorWebAclArn: webAclArn } });
    // Assess
    template.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({ WebACLId: webAclArn }),
    });
    template.resourceCountIs('AWS::WAFv2::WebACL', 0);
  });

  it('listens on the default bus when -c eventBus=default, and binds -c sourceTenants', () => {
    // Act
    const { template } = synthApp({
      context: { eventBus: 'default', eventSources: 'billing', sourceTenants: '{"billing":["acme"]}' },
    });
    // Assess
    template.resourceCountIs('AWS::Events::EventBus', 0);
    template.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: 'default',
      EventPattern: switchboardEventPattern({ sources: ['billing'], sourceTenants: { billing: ['acme'] } }),
    });
  });

  it.each([
    [{ allowAnonymous: 'yes' }, /context allowAnonymous: must be true or false \(received "yes"\)/],
    [{ maxSubscriptions: 'ten' }, /context maxSubscriptions: must be a number \(received "ten"\)/],
    [
      { publishReservedConcurrency: 'lots' },
      /context publishReservedConcurrency: must be a number \(received "lots"\)/,
    ],
    [{ logRetentionDays: '8' }, /context logRetentionDays: must be one of 1, 3, 5, 7, .* \(received 8\)/],
    [{ channelPolicy: '[{"pattern":' }, /context channelPolicy: must be JSON/],
    [{ domainName: 'realtime.example.com' }, /context domainName and certificateArn: give both or neither/],
    [{ removalPolicy: 'delete' }, /context removalPolicy: must be retain or destroy \(received "delete"\)/],
    [{ routeThrottle: '5' }, /context routeThrottle: must be a JSON object \(received 5\)/],
    [{ sourceTenants: '"acme"' }, /context sourceTenants: must be a JSON object \(received "acme"\)/],
    [
      { authSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:switchboard-key' },
      /context authSecretArn: must be the complete secret ARN/,
    ],
  ])('refuses %o', (context, message) => {
    expect(() => synthApp({ context })).toThrow(ContextError);
    expect(() => synthApp({ context })).toThrow(message);
  });

  it('passes values the construct refuses on to its own validation', () => {
    expect(() => synthApp({ context: { maxSubscriptions: '0' } })).toThrow(
      /maxSubscriptions must be an integer from 1 to 10000 \(received 0\)/,
    );
    expect(() => synthApp({ context: { publishReservedConcurrency: '1' } })).toThrow(
      /publishReservedConcurrency must be an integer from 2 to 1000 \(received 1\)/,
    );
  });

  it('documents every key it reads', () => {
    for (const [key, description] of Object.entries(CONTEXT_KEYS)) {
      expect(description.length, key).toBeGreaterThan(10);
    }
  });
});

describe('cdk synth (the CLI, as `npm run synth` runs it)', () => {
  it('synthesizes offline, printing nothing about notices, telemetry, versions or feature flags', () => {
    const out = mkdtempSync(join(tmpdir(), 'switchboard-synth-'));
    try {
      const cdk = join(PROJECT_ROOT, 'node_modules', '.bin', 'cdk');
      const args = ['synth', '--quiet', '--output', out];
      // Without a network namespace of its own where the system allows one: proof of "offline".
      const unshare = spawnSync('unshare', ['-rn', 'true']);
      const [command, commandArgs] = unshare.status === 0 ? ['unshare', ['-rn', cdk, ...args]] : [cdk, args];
      const result = spawnSync(command, commandArgs, {
        cwd: PROJECT_ROOT,
        env: { ...process.env, CDK_DISABLE_VERSION_CHECK: '1' },
        encoding: 'utf8',
        timeout: 120_000,
      });
      const printed = `${result.stdout}\n${result.stderr}`
        .split('\n')
        // npm's complaints about this machine's npm config come from `npx esbuild`, not from CDK.
        .filter(
          (line) => line.trim() !== '' && !line.startsWith('npm warn') && !line.startsWith('Bundling asset'),
        );
      expect(result.status, printed.join('\n')).toBe(0);
      expect(printed).toEqual([]);
      expect(existsSync(join(out, 'Switchboard.template.json'))).toBe(true);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 120_000);
});
