/**
 * The one price table of the cost model: us-east-1 list prices, on-demand, without free tiers.
 * Every other figure of `npm run cost` and of the cost tables in `docs/cost.md` is derived from these.
 *
 * The pricing pages render their rate tables client-side; the rates below were read from the pages'
 * own worked examples and text as indexed on the date in `CHECKED` (and agree with the previous
 * README table). Check them for your region before relying on them.
 */

/** When the prices below were last checked against their sources. */
export const CHECKED = '2026-11-29';

export interface Price {
  /** US dollars per `per` units of `unit`. */
  readonly usd: number;
  readonly per: number;
  readonly unit: string;
  readonly source: string;
  /** What the price assumes, where the page leaves room. */
  readonly note?: string;
}

const API_GATEWAY = 'https://aws.amazon.com/api-gateway/pricing/';
const LAMBDA = 'https://aws.amazon.com/lambda/pricing/';
const DYNAMODB = 'https://aws.amazon.com/dynamodb/pricing/on-demand/';
const EVENTBRIDGE = 'https://aws.amazon.com/eventbridge/pricing/';
const SQS = 'https://aws.amazon.com/sqs/pricing/';
const CLOUDWATCH = 'https://aws.amazon.com/cloudwatch/pricing/';
const SECRETS_MANAGER = 'https://aws.amazon.com/secrets-manager/pricing/';

export const PRICES = {
  webSocketMessage: {
    usd: 1.0,
    per: 1e6,
    unit: 'WebSocket messages (sent or received, 32 KB units)',
    source: API_GATEWAY,
    note: 'first billion a month; $0.80 per million above',
  },
  connectionMinute: { usd: 0.25, per: 1e6, unit: 'connection-minutes', source: API_GATEWAY },
  httpApiRequest: {
    usd: 1.0,
    per: 1e6,
    unit: 'HTTP API requests (512 KB units)',
    source: API_GATEWAY,
    note: 'first 300 million a month',
  },
  managementApiCall: {
    usd: 0,
    per: 1e6,
    unit: '@connections GET/DELETE calls',
    source: API_GATEWAY,
    note: 'the page bills WebSocket APIs for messages sent and received and connection minutes; a GET or DELETE sends no message (a POST is a message sent, counted as such)',
  },
  lambdaRequest: { usd: 0.2, per: 1e6, unit: 'Lambda requests', source: LAMBDA },
  lambdaGbSecond: {
    usd: 0.0000133334,
    per: 1,
    unit: 'Lambda GB-seconds (arm64)',
    source: LAMBDA,
    note: 'first 7.5 billion GB-seconds a month',
  },
  writeRequestUnit: { usd: 0.625, per: 1e6, unit: 'DynamoDB write request units', source: DYNAMODB },
  readRequestUnit: { usd: 0.125, per: 1e6, unit: 'DynamoDB read request units', source: DYNAMODB },
  customEvent: {
    usd: 1.0,
    per: 1e6,
    unit: 'EventBridge custom events (64 KB units)',
    source: EVENTBRIDGE,
  },
  scheduledRuleInvocation: {
    usd: 0,
    per: 1e6,
    unit: 'EventBridge scheduled rule invocations',
    source: EVENTBRIDGE,
    note: 'a scheduled rule on the default bus publishes no custom event',
  },
  sqsRequest: { usd: 0.4, per: 1e6, unit: 'SQS standard requests (64 KB units)', source: SQS },
  alarmMetric: {
    usd: 0.1,
    per: 1,
    unit: 'standard-resolution alarm metric-months',
    source: CLOUDWATCH,
    note: 'billed per metric an alarm evaluates: an alarm on a math expression over n metrics counts n',
  },
  dashboard: { usd: 3.0, per: 1, unit: 'dashboard-months', source: CLOUDWATCH },
  customMetric: {
    usd: 0.3,
    per: 1,
    unit: 'custom metric-months (EMF)',
    source: CLOUDWATCH,
    note: 'first 10,000 metrics; prorated by the hours a metric receives data',
  },
  logIngestionGb: { usd: 0.5, per: 1, unit: 'GB of logs ingested', source: CLOUDWATCH },
  secret: { usd: 0.4, per: 1, unit: 'secret-months', source: SECRETS_MANAGER },
  secretApiCall: { usd: 0.05, per: 10_000, unit: 'Secrets Manager API calls', source: SECRETS_MANAGER },
} as const satisfies Record<string, Price>;

export type PriceName = keyof typeof PRICES;

/** The cost of `quantity` units of a priced thing, in dollars. */
export function priceOf(name: PriceName, quantity: number): number {
  const price: Price = PRICES[name];
  return (quantity * price.usd) / price.per;
}
