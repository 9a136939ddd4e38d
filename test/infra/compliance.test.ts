/**
 * cdk-nag (AWS Solutions) and cfn-lint on the synthesized template: no finding left
 * unacknowledged, every acknowledgement tied to a finding and carrying a real reason, and a
 * template cfn-lint accepts.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { App } from 'aws-cdk-lib';
import { Duration, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Certificate } from 'aws-cdk-lib/aws-certificatemanager';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { SwitchboardFrontDoorOptions } from '../../lib/switchboard-api-props.js';
import { SwitchboardStack } from '../../lib/switchboard-stack.js';
import { newApp, synthApp, synthStack } from './synth.js';

interface Finding {
  readonly rule: string;
  readonly path: string;
}

/** Every AwsSolutions finding, acknowledged or not. */
function rawFindings(app: App): Finding[] {
  const pack = new AwsSolutionsChecks();
  // The pack consults acknowledgements through this (private) method; ignoring them shows all.
  Object.defineProperty(pack, 'isAcknowledged', { value: () => false });
  return findings(pack, app);
}

function findings(pack: AwsSolutionsChecks, app: App): Finding[] {
  const report = pack.validateScope(app);
  return report.violations.flatMap((v) =>
    (v as unknown as { violatingResources: { constructPath: string }[] }).violatingResources.map((r) => ({
      rule: v.ruleName,
      path: r.constructPath,
    })),
  );
}

interface Acknowledgement {
  readonly rule: string;
  readonly reason: string;
  readonly path: string;
}

function acknowledgements(root: IConstruct): Acknowledgement[] {
  return root.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) =>
        Object.entries(m.data as Record<string, string>).map(([id, reason]) => ({
          rule: id.replace(/^annotation::/i, ''),
          reason,
          path: c.node.path,
        })),
      ),
  );
}

const covers = (ack: Acknowledgement, finding: Finding) =>
  ack.rule === finding.rule && (finding.path === ack.path || finding.path.startsWith(`${ack.path}/`));

function checkAcknowledgements(app: App): void {
  const raw = rawFindings(app);
  const acks = acknowledgements(app);
  const unacknowledged = raw.filter((f) => !acks.some((a) => covers(a, f)));
  expect(unacknowledged, 'findings without an acknowledgement').toEqual([]);
  const stale = acks.filter((a) => !raw.some((f) => covers(a, f)));
  expect(stale, 'acknowledgements that match no finding').toEqual([]);
  for (const ack of acks) {
    expect(ack.reason.length, `reason of ${ack.rule} at ${ack.path}`).toBeGreaterThanOrEqual(80);
    expect(ack.reason).not.toMatch(/todo|fixme|placeholder|tbd/i);
  }
}

/** The front door's two shapes: a web ACL the stack creates (us-east-1), or one attached by ARN. */
const FRONT_DOORS: [string, string | undefined, SwitchboardFrontDoorOptions][] = [
  ['its own web ACL, in us-east-1', 'us-east-1', { rateLimitPer5Minutes: 300 }],
  ['its own web ACL, region-agnostic', undefined, {}],
  [
    'an existing web ACL, in eu-west-1',
    'eu-west-1',
    {
      webAclArn:
        'arn:aws:wafv2:us-east-1:123456789012:global/webacl/switchboard/00000000-0000-0000-0000-000000000000',
    },
  ],
];

function frontDoorStack(region: string | undefined, frontDoor: SwitchboardFrontDoorOptions) {
  const app = newApp();
  const stack = new SwitchboardStack(app, 'FrontDoorTest', {
    ...(region ? { env: { region, account: '123456789012' } } : {}),
    switchboard: { frontDoor },
  });
  return { app, template: Template.fromStack(stack) };
}

// Synthesized once: bin/app.ts registers the checks, so this synth already fails on any finding.
let defaults: ReturnType<typeof synthApp>;
beforeAll(() => {
  defaults = synthApp();
});

describe('cdk-nag AwsSolutionsChecks', () => {
  it('passes the checks bin/app.ts registers (synth fails on any unacknowledged finding)', () => {
    expect(findings(new AwsSolutionsChecks(), defaults.app)).toEqual([]);
  });

  it('acknowledges each finding where it arises, with a reason, and nothing else', () => {
    const { app } = defaults;
    checkAcknowledgements(app);
    const rules = [...new Set(acknowledgements(app).map((a) => a.rule.replace(/\[.*$/, '')))].sort();
    expect(rules).toEqual([
      'AwsSolutions-APIG4',
      'AwsSolutions-IAM4',
      'AwsSolutions-IAM5',
      'AwsSolutions-L1',
      'AwsSolutions-SMG4',
    ]);
  });

  it('stays clean with every option on (domain, imported secret and bus, sources, alarm topic)', () => {
    const { app } = synthStack((stack) => ({
      auth: {
        secret: Secret.fromSecretCompleteArn(
          stack,
          'Secret',
          'arn:aws:secretsmanager:eu-west-1:123456789012:secret:switchboard-AbCdEf',
        ),
        jwksUrl: 'https://issuer.example.com/.well-known/jwks.json',
        issuer: 'https://issuer.example.com/',
        audience: 'switchboard',
      },
      allowedOrigins: ['https://app.example.com'],
      allowAnonymous: true,
      eventBus: EventBus.fromEventBusName(stack, 'Bus', 'apps'),
      eventSources: ['cluster-code-service'],
      sweepPeriod: Duration.minutes(2),
      domain: {
        domainName: 'realtime.example.com',
        certificate: Certificate.fromCertificateArn(
          stack,
          'Certificate',
          'arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-0000-0000-000000000000',
        ),
      },
      alarmTopic: Topic.fromTopicArn(stack, 'Alarms', 'arn:aws:sns:eu-west-1:123456789012:alarms'),
      apiGatewayCloudWatchRole: false,
    }));
    expect(findings(new AwsSolutionsChecks(), app)).toEqual([]);
    checkAcknowledgements(app);
  });

  it.each(FRONT_DOORS)('stays clean with a front door: %s', (_shape, region, frontDoor) => {
    // Act
    const { app } = frontDoorStack(region, frontDoor);
    // Assess
    expect(findings(new AwsSolutionsChecks(), app)).toEqual([]);
    checkAcknowledgements(app);
    const rules = acknowledgements(app)
      .filter((a) => a.path.includes('/FrontDoor/'))
      .map((a) => a.rule)
      .sort();
    expect(rules).toEqual(['AwsSolutions-CFR1', 'AwsSolutions-CFR3', 'AwsSolutions-CFR4']);
  });
});

const cfnLint = spawnSync('cfn-lint', ['--version'], { encoding: 'utf8' });
const hasCfnLint = !cfnLint.error && cfnLint.status === 0;

/** cfn-lint's findings on a template (empty when it is clean). */
function lint(template: Template): string {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-cfn-lint-'));
  try {
    const file = join(dir, 'template.json');
    writeFileSync(file, JSON.stringify(template.toJSON(), null, 1));
    // W3005: CDK's Function declares DependsOn on its role although Role is already a GetAtt;
    // the redundancy is CDK's and harmless.
    const result = spawnSync('cfn-lint', ['--format', 'parseable', '--ignore-checks', 'W3005', '--', file], {
      encoding: 'utf8',
    });
    return `${result.stdout}${result.stderr}${result.status === 0 ? '' : `(exit ${result.status})`}`.trim();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('cfn-lint', () => {
  it.for(FRONT_DOORS)('accepts the template with a front door: %s', ([, region, frontDoor], ctx) => {
    if (!hasCfnLint) ctx.skip('cfn-lint is not installed (pip install cfn-lint): template lint skipped');
    expect(lint(frontDoorStack(region, frontDoor).template)).toBe('');
  });

  it('accepts the synthesized template', (ctx) => {
    if (!hasCfnLint) ctx.skip('cfn-lint is not installed (pip install cfn-lint): template lint skipped');
    expect(lint(defaults.template), cfnLint.stdout.trim()).toBe('');
  });

  it('accepts the template with a custom domain, a custom bus, a source allow-list and tenant bindings', (ctx) => {
    if (!hasCfnLint) ctx.skip('cfn-lint is not installed (pip install cfn-lint): template lint skipped');
    const { template } = synthStack((stack) => ({
      eventBus: EventBus.fromEventBusName(stack, 'Bus', 'apps'),
      eventSources: ['cluster-code-service', 'billing'],
      sourceTenants: { billing: ['acme', 'globex'] },
      domain: {
        domainName: 'realtime.example.com',
        certificate: Certificate.fromCertificateArn(
          stack,
          'Certificate',
          'arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-0000-0000-000000000000',
        ),
      },
      routeThrottle: { $connect: { rateLimit: 50, burstLimit: 100 }, subscribe: { rateLimit: 200 } },
    }));
    expect(lint(template)).toBe('');
  });
});
