/**
 * The optional front door (issue 10, item 4): CloudFront in front of the WebSocket API with an
 * AWS WAF web ACL whose rate-based rule blocks a client IP at the edge, so a flood of handshakes
 * from one client never reaches `$connect`. Both shapes: a web ACL created by the stack (us-east-1
 * only) and an existing one attached by ARN (any region). Template only (no bundles).
 */
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Certificate } from 'aws-cdk-lib/aws-certificatemanager';
import { OriginRequestPolicy } from 'aws-cdk-lib/aws-cloudfront';
import { describe, expect, it } from 'vitest';
import type { SwitchboardApiProps } from '../../lib/switchboard-api-props.js';
import { SwitchboardStack } from '../../lib/switchboard-stack.js';
import { newApp, resourcesOfType } from './synth.js';

const WEB_ACL_ARN =
  'arn:aws:wafv2:us-east-1:123456789012:global/webacl/switchboard/00000000-0000-0000-0000-000000000000';

function synth(region: string | undefined, switchboard: SwitchboardApiProps) {
  const stack = new SwitchboardStack(newApp(), 'Test', {
    ...(region ? { env: { region, account: '123456789012' } } : {}),
    switchboard,
  });
  return { stack, template: Template.fromStack(stack) };
}

const distributionConfig = (template: Template) =>
  Object.values(resourcesOfType(template, 'AWS::CloudFront::Distribution'))[0]?.Properties
    ?.DistributionConfig as Record<string, unknown>;

describe('a front door whose web ACL the stack creates (stack in us-east-1)', () => {
  const { stack, template } = synth('us-east-1', { frontDoor: { rateLimitPer5Minutes: 120 } });
  const api = stack.switchboard;

  it('rate-limits each client IP over 5 minutes in a CLOUDFRONT web ACL, answering 429', () => {
    template.hasResourceProperties('AWS::WAFv2::WebACL', {
      Scope: 'CLOUDFRONT',
      DefaultAction: { Allow: {} },
      Rules: [
        Match.objectLike({
          Action: { Block: { CustomResponse: { ResponseCode: 429 } } },
          Statement: { RateBasedStatement: { Limit: 120, AggregateKeyType: 'IP', EvaluationWindowSec: 300 } },
          VisibilityConfig: Match.objectLike({
            CloudWatchMetricsEnabled: true,
            SampledRequestsEnabled: true,
          }),
        }),
      ],
    });
  });

  it('puts that web ACL on a distribution whose origin is the WebSocket API, over HTTPS only', () => {
    const config = distributionConfig(template);
    expect(config.WebACLId).toEqual({
      'Fn::GetAtt': [stack.getLogicalId(api.frontDoor?.webAcl as never), 'Arn'],
    });
    expect(config).toMatchObject({
      HttpVersion: 'http1.1',
      Origins: [
        {
          DomainName: {
            'Fn::Join': [
              '',
              [
                { Ref: stack.getLogicalId(api.webSocketApi.node.defaultChild as never) },
                '.execute-api.us-east-1.',
                { Ref: 'AWS::URLSuffix' },
              ],
            ],
          },
          CustomOriginConfig: { OriginProtocolPolicy: 'https-only', OriginSSLProtocols: ['TLSv1.2'] },
        },
      ],
      DefaultCacheBehavior: {
        ViewerProtocolPolicy: 'https-only',
        AllowedMethods: ['GET', 'HEAD'],
        OriginRequestPolicyId: OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER.originRequestPolicyId,
      },
    });
    // No origin path: wss://{distribution}/ws reaches the stage `ws` as it is.
    expect(JSON.stringify(config.Origins)).not.toContain('OriginPath');
  });

  it('caches nothing, and keys on the handshake headers and query string that carry the token', () => {
    template.hasResourceProperties('AWS::CloudFront::CachePolicy', {
      CachePolicyConfig: Match.objectLike({
        MinTTL: 0,
        DefaultTTL: 0,
        ParametersInCacheKeyAndForwardedToOrigin: Match.objectLike({
          HeadersConfig: {
            HeaderBehavior: 'whitelist',
            Headers: ['Authorization', 'Origin', 'Sec-WebSocket-Protocol'],
          },
          QueryStringsConfig: { QueryStringBehavior: 'all' },
        }),
      }),
    });
    const errors = distributionConfig(template).CustomErrorResponses as { ErrorCachingMinTTL: number }[];
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.every((e) => e.ErrorCachingMinTTL === 0)).toBe(true);
  });

  it('tells clients to connect through it', () => {
    expect(template.findOutputs('WebSocketUrl').WebSocketUrl?.Value).toEqual({
      'Fn::Join': [
        '',
        [
          'wss://',
          {
            'Fn::GetAtt': [
              stack.getLogicalId(api.frontDoor?.distribution.node.defaultChild as never),
              'DomainName',
            ],
          },
          '/ws',
        ],
      ],
    });
    expect(Object.keys(template.toJSON().Rules ?? {})).toEqual(['CheckBootstrapVersion']);
  });
});

describe('a front door with an existing web ACL (stack in any region)', () => {
  const { template } = synth('eu-west-1', { frontDoor: { webAclArn: WEB_ACL_ARN } });

  it('attaches that web ACL and creates none', () => {
    template.resourceCountIs('AWS::WAFv2::WebACL', 0);
    expect(distributionConfig(template).WebACLId).toBe(WEB_ACL_ARN);
    expect(JSON.stringify(distributionConfig(template).Origins)).toContain('.execute-api.eu-west-1.');
  });
});

describe('where the web ACL can be created', () => {
  it('guards an environment-agnostic stack with a rule that refuses any region but us-east-1', () => {
    const { template } = synth(undefined, { frontDoor: {} });
    template.resourceCountIs('AWS::WAFv2::WebACL', 1);
    const { CheckBootstrapVersion: _, ...rules } = template.toJSON().Rules as Record<string, unknown>;
    expect(Object.values(rules)).toEqual([
      {
        Assertions: [
          {
            Assert: { 'Fn::Equals': [{ Ref: 'AWS::Region' }, 'us-east-1'] },
            AssertDescription: expect.stringContaining('frontDoor.webAclArn'),
          },
        ],
      },
    ]);
  });

  it.each([
    [
      'a stack in another region without webAclArn',
      'eu-west-1',
      { frontDoor: {} },
      /exists only in us-east-1.* \(received region "eu-west-1"\)/,
    ],
    [
      'a rate limit under WAF minimum',
      'us-east-1',
      { frontDoor: { rateLimitPer5Minutes: 5 } },
      /frontDoor.rateLimitPer5Minutes must be an integer from 10 to 2000000000 \(received 5\)/,
    ],
    [
      'a REGIONAL web ACL',
      'eu-west-1',
      { frontDoor: { webAclArn: 'arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/x/1' } },
      /frontDoor.webAclArn must be the ARN of a CLOUDFRONT web ACL/,
    ],
  ] as const)('refuses %s', (_name, region, props, message) => {
    expect(() => synth(region, props as SwitchboardApiProps)).toThrow(message);
  });

  it('refuses a front door beside a custom domain on the API, which clients would use to go around it', () => {
    expect(
      () =>
        new SwitchboardStack(newApp(), 'Test', {
          env: { region: 'us-east-1', account: '123456789012' },
          switchboard: (s) => ({
            frontDoor: {},
            domain: {
              domainName: 'realtime.example.com',
              certificate: Certificate.fromCertificateArn(
                s,
                'Certificate',
                'arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000',
              ),
            },
          }),
        }),
    ).toThrow(/frontDoor cannot be combined with domain/);
  });

  it('adds nothing in front of the API unless asked', () => {
    const { template } = synth('us-east-1', {});
    template.resourceCountIs('AWS::CloudFront::Distribution', 0);
    template.resourceCountIs('AWS::WAFv2::WebACL', 0);
  });
});
