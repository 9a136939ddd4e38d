/**
 * `SwitchboardFrontDoor`: an optional CloudFront distribution in front of the WebSocket API, with
 * an AWS WAF web ACL whose rate-based rule blocks a client IP past `rateLimitPer5Minutes`
 * requests. API Gateway WebSocket APIs cannot take a web ACL themselves; CloudFront can
 * ("Use WebSockets with CloudFront distributions"), and WAF evaluates each request at the edge,
 * before it reaches API Gateway: a blocked handshake costs no `$connect` invocation, no DynamoDB
 * read or write, and no share of the stage's `$connect` throttle, which every client shares.
 *
 * Clients connect to `wss://{distribution}/{stage}`: the path goes to the origin unchanged.
 * CloudFront carries the upgrade when the behavior forwards the viewer's headers, Sec-WebSocket-Key
 * and Sec-WebSocket-Version among them ("Use WebSockets with CloudFront distributions": the
 * AllViewer origin request policies do).
 *
 * The origin is API Gateway, which must see its own Host: AllViewerExceptHostHeader, the managed
 * policy meant for API Gateway origins ("Use managed origin request policies").
 *
 * The rate-based rule counts requests per client IP over an evaluation window of 60, 120, 300 or
 * 600 s, with a lowest limit of 10 ("Rate-based rule high-level settings in AWS WAF"); 300 s here.
 *
 * A web ACL for CloudFront must be created in US East (N. Virginia) ("Resources that you can
 * protect with AWS WAF": "you must use the Region US East (N. Virginia) to create your web ACL").
 * So this construct creates one only in a stack deployed to us-east-1 (a literal region is
 * checked at synth; an environment-agnostic stack gets a CloudFormation rule that refuses any
 * other region); elsewhere pass `webAclArn`, a web ACL made in us-east-1 (for example in a small
 * us-east-1 stack, or by your security team).
 */
import { Aws, CfnRule, Duration, Fn, Stack, Token } from 'aws-cdk-lib';
import type { WebSocketApi } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  AllowedMethods,
  CacheCookieBehavior,
  CacheHeaderBehavior,
  CachePolicy,
  CacheQueryStringBehavior,
  Distribution,
  HttpVersion,
  OriginProtocolPolicy,
  OriginRequestPolicy,
  OriginSslPolicy,
  ViewerProtocolPolicy,
} from 'aws-cdk-lib/aws-cloudfront';
import { HttpOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import { CfnWebACL } from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { acknowledge } from './nag.js';

/** The only region where a web ACL for CloudFront (scope CLOUDFRONT) can be created. */
export const CLOUDFRONT_WAF_REGION = 'us-east-1';

/**
 * The handshake headers that decide how `$connect` answers: they are in the cache key, so that
 * no answer could ever be served to a handshake that did not send the same ones (nothing is
 * cached anyway: TTL 0, and 0 for errors too).
 */
const HANDSHAKE_HEADERS = ['Authorization', 'Origin', 'Sec-WebSocket-Protocol'];

/**
 * CloudFront caches these error statuses for 10 s by default ("error caching minimum TTL"), even
 * with a cache policy of TTL 0: a 403 for one client's Origin must not answer the next client.
 */
const CACHED_ERROR_STATUSES = [400, 403, 404, 405, 414, 416, 500, 501, 502, 503, 504];

export const FRONT_DOOR_NAG_REASONS = {
  logging:
    'CloudFront standard logs record the query string (cs-uri-query), where browsers send ?token=<jwt> (PROTOCOL §2), and cannot redact it; Switchboard keeps tokens out of every log. Blocked clients show in the web ACL rate rule metrics and sampled requests, admitted handshakes in the stage access log.',
  geo: 'Switchboard serves clients wherever its token issuers admit them; which countries to refuse is a deployment policy, not the construct default. Where one applies, set it on the distribution (api.frontDoor.distribution, through its CfnDistribution).',
  tls: "The distribution answers on CloudFront's default *.cloudfront.net certificate, whose security policy CloudFront fixes at TLSv1 whatever is asked; raising it takes a custom domain with its own ACM certificate in us-east-1, which this construct does not set up.",
} as const;

export interface SwitchboardFrontDoorProps {
  /** The WebSocket API the distribution fronts (its execute-api domain is the origin). */
  readonly webSocketApi: WebSocketApi;
  /** The stage (the URL path clients connect to). */
  readonly stageName: string;
  /** Requests one client IP may make in any 5 minutes before WAF blocks it (10 or more). */
  readonly rateLimitPer5Minutes: number;
  /** An existing web ACL (scope CLOUDFRONT, in us-east-1) to attach instead of creating one. */
  readonly webAclArn?: string;
}

export class SwitchboardFrontDoor extends Construct {
  readonly distribution: Distribution;
  /** The web ACL this construct created (undefined when `webAclArn` was given). */
  readonly webAcl?: CfnWebACL;
  /** The ARN of the web ACL the distribution uses. */
  readonly webAclArn: string;

  constructor(scope: Construct, id: string, props: SwitchboardFrontDoorProps) {
    super(scope, id);
    const stack = Stack.of(this);

    if (props.webAclArn !== undefined) {
      this.webAclArn = props.webAclArn;
    } else {
      if (Token.isUnresolved(stack.region)) {
        // Environment-agnostic: the region is known only at deploy time; refuse any other there.
        new CfnRule(this, 'WebAclRegion', {
          assertions: [
            {
              assert: Fn.conditionEquals(Aws.REGION, CLOUDFRONT_WAF_REGION),
              assertDescription: `Switchboard's front door creates a CLOUDFRONT web ACL, which exists only in ${CLOUDFRONT_WAF_REGION}: deploy this stack there, or pass frontDoor.webAclArn`,
            },
          ],
        });
      }
      this.webAcl = new CfnWebACL(this, 'WebAcl', {
        description: 'Switchboard front door: a rate limit per client IP on the WebSocket API',
        scope: 'CLOUDFRONT',
        defaultAction: { allow: {} },
        visibilityConfig: {
          cloudWatchMetricsEnabled: true,
          sampledRequestsEnabled: true,
          metricName: 'SwitchboardFrontDoor',
        },
        rules: [
          {
            name: 'RateLimitPerClientIp',
            priority: 0,
            // 429, so that clients back off instead of taking it for a refused token (401/403).
            action: { block: { customResponse: { responseCode: 429 } } },
            statement: {
              // Counted per client IP (the viewer's, as CloudFront sees it) over the last 300 s.
              rateBasedStatement: {
                limit: props.rateLimitPer5Minutes,
                aggregateKeyType: 'IP',
                evaluationWindowSec: 300,
              },
            },
            visibilityConfig: {
              cloudWatchMetricsEnabled: true,
              sampledRequestsEnabled: true,
              metricName: 'SwitchboardRateLimitPerClientIp',
            },
          },
        ],
      });
      this.webAclArn = this.webAcl.attrArn;
    }

    // Nothing is cached: every handshake goes to API Gateway. The handshake headers are in the key
    // (Authorization reaches the origin only that way: "You can't use an origin request policy to
    // forward the Authorization header", AWS knowledge center "cloudfront-authorization-header"),
    // and AllViewerExceptHostHeader forwards everything else, query string and
    // Sec-WebSocket-Key/Version included, but not Host, which API Gateway needs to be its own.
    const cachePolicy = new CachePolicy(this, 'NoCache', {
      comment: 'Switchboard front door: WebSocket handshakes, never cached',
      minTtl: Duration.seconds(0),
      defaultTtl: Duration.seconds(0),
      // Above 0 only because CloudFront accepts no cache key settings with every TTL at 0.
      maxTtl: Duration.seconds(1),
      headerBehavior: CacheHeaderBehavior.allowList(...HANDSHAKE_HEADERS),
      queryStringBehavior: CacheQueryStringBehavior.all(),
      cookieBehavior: CacheCookieBehavior.none(),
    });
    this.distribution = new Distribution(this, 'Distribution', {
      comment: `Switchboard front door: wss://{this domain}/${props.stageName}`,
      webAclId: this.webAclArn,
      // Browsers open WebSockets over HTTP/1.1 (CloudFront does not take them over HTTP/2).
      httpVersion: HttpVersion.HTTP1_1,
      defaultBehavior: {
        origin: new HttpOrigin(`${props.webSocketApi.apiId}.execute-api.${stack.region}.${stack.urlSuffix}`, {
          protocolPolicy: OriginProtocolPolicy.HTTPS_ONLY,
          originSslProtocols: [OriginSslPolicy.TLS_V1_2],
        }),
        viewerProtocolPolicy: ViewerProtocolPolicy.HTTPS_ONLY,
        allowedMethods: AllowedMethods.ALLOW_GET_HEAD,
        cachePolicy,
        originRequestPolicy: OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
        compress: false,
      },
      errorResponses: CACHED_ERROR_STATUSES.map((httpStatus) => ({ httpStatus, ttl: Duration.seconds(0) })),
    });
    acknowledge(this.distribution, 'AwsSolutions-CFR3', FRONT_DOOR_NAG_REASONS.logging);
    acknowledge(this.distribution, 'AwsSolutions-CFR1', FRONT_DOOR_NAG_REASONS.geo);
    acknowledge(this.distribution, 'AwsSolutions-CFR4', FRONT_DOOR_NAG_REASONS.tls);
  }

  /** `wss://{distribution domain}/{stage}`. */
  webSocketUrl(stageName: string): string {
    return `wss://${this.distribution.distributionDomainName}/${stageName}`;
  }
}
