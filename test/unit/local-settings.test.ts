import { describe, expect, it } from 'vitest';
import { banner, READY_LINE } from '../../local/banner.js';
import { corsHeaders, httpApiEvent } from '../../local/emulator/http-api.js';
import { LocalStackError } from '../../local/errors.js';
import { localEnvironment } from '../../local/local-env.js';
import { resolveSettings } from '../../local/local-settings.js';

const endpoints = {
  callbackUrl: 'http://127.0.0.1:9000/ws',
  dynamodbEndpoint: 'http://127.0.0.1:9001',
  tableName: 'switchboard',
  sqsEndpoint: 'http://127.0.0.1:9000',
  fanoutQueueUrl: 'http://127.0.0.1:9000/000000000000/switchboard-fanout',
  publishQueueUrl: 'http://127.0.0.1:9000/000000000000/switchboard-publish',
  idleTimeoutSeconds: 600,
  maxConnectionSeconds: 7200,
};
const secret = 'a-secret-that-is-at-least-32-bytes-long';

describe('the handlers’ local environment', () => {
  it('points the handlers at the local endpoints and fills in region, dummy credentials and quiet logs', () => {
    // Act
    const env = localEnvironment({ SWITCHBOARD_AUTH_SECRET: secret }, endpoints);
    // Assess
    expect(env).toMatchObject({
      SWITCHBOARD_TABLE_NAME: 'switchboard',
      SWITCHBOARD_CALLBACK_URL: 'http://127.0.0.1:9000/ws',
      SWITCHBOARD_DYNAMODB_ENDPOINT: 'http://127.0.0.1:9001',
      SWITCHBOARD_AUTH_SECRET: secret,
      AWS_REGION: 'local',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      POWERTOOLS_SERVICE_NAME: 'switchboard',
      POWERTOOLS_METRICS_NAMESPACE: 'Switchboard',
      POWERTOOLS_LOG_LEVEL: 'WARN',
    });
  });

  it('keeps what the user set, except the endpoints, which are always the local ones', () => {
    // Act
    const env = localEnvironment(
      {
        SWITCHBOARD_AUTH_SECRET: secret,
        AWS_REGION: 'eu-west-1',
        POWERTOOLS_LOG_LEVEL: 'DEBUG',
        POWERTOOLS_SERVICE_NAME: 'orders-realtime',
        POWERTOOLS_METRICS_NAMESPACE: 'OrdersRealtime',
        SWITCHBOARD_CALLBACK_URL: 'https://elsewhere/ws',
      },
      endpoints,
    );
    // Assess
    expect(env.AWS_REGION).toBe('eu-west-1');
    expect(env.POWERTOOLS_LOG_LEVEL).toBe('DEBUG');
    expect(env.POWERTOOLS_SERVICE_NAME).toBe('orders-realtime');
    expect(env.POWERTOOLS_METRICS_NAMESPACE).toBe('OrdersRealtime');
    expect(env.SWITCHBOARD_CALLBACK_URL).toBe('http://127.0.0.1:9000/ws');
  });
});

describe('the local stack’s settings', () => {
  it('uses the documented defaults when nothing is set', () => {
    expect(resolveSettings({}, {})).toMatchObject({
      port: 8080,
      dynamodbPort: 8000,
      dynamodbEndpoint: undefined,
      tableName: 'switchboard',
      stage: 'ws',
      eventBusName: 'default',
      sweepIntervalSeconds: 60,
      idleTimeoutSeconds: 600,
      maxConnectionSeconds: 7200,
      tokenExchangeCorsOrigins: [],
    });
  });

  it('opens the token exchange to the listed origins only, not to the connect allow-list', () => {
    const settings = resolveSettings(
      {},
      {
        SWITCHBOARD_ALLOWED_ORIGINS: 'https://app.example',
        SWITCHBOARD_TOKEN_EXCHANGE_CORS_ORIGINS: 'http://localhost:5173, https://b.example',
      },
    );
    expect(settings.tokenExchangeCorsOrigins).toEqual(['http://localhost:5173', 'https://b.example']);
  });

  it('prefers explicit options to the environment, and accepts port 0', () => {
    const settings = resolveSettings(
      { port: 0 },
      { SWITCHBOARD_PORT: '9999', SWITCHBOARD_DYNAMODB_PORT: '0' },
    );
    expect(settings.port).toBe(0);
    expect(settings.dynamodbPort).toBe(0);
  });

  it('names a bad variable and the value it received', () => {
    expect(() => resolveSettings({}, { SWITCHBOARD_PORT: 'eighty' })).toThrow(
      new LocalStackError('SWITCHBOARD_PORT must be a whole number from 0 to 65535 (got "eighty")'),
    );
  });
});

describe('the token exchange’s HTTP API event', () => {
  it('builds a payload 2.0 event with lower-case headers, cookies apart and a text body', () => {
    // Act
    const event = httpApiEvent(
      {
        method: 'POST',
        url: '/api/v1/auth?a=1&a=2',
        httpVersion: '1.1',
        rawHeaders: [
          'Authorization',
          'Bearer t',
          'Cookie',
          'x=1; y=2',
          'Content-Type',
          'application/json',
          'Host',
          'h:1',
        ],
        sourceIp: '127.0.0.1',
      },
      Buffer.from('{"k":1}'),
      { routeKey: 'POST /api/v1/auth', apiId: 'api', account: '000000000000' },
    );
    // Assess
    expect(event).toMatchObject({
      version: '2.0',
      routeKey: 'POST /api/v1/auth',
      rawPath: '/api/v1/auth',
      rawQueryString: 'a=1&a=2',
      cookies: ['x=1', 'y=2'],
      headers: { authorization: 'Bearer t', 'content-type': 'application/json', host: 'h:1' },
      queryStringParameters: { a: '1,2' },
      body: '{"k":1}',
      isBase64Encoded: false,
      requestContext: {
        http: { method: 'POST', path: '/api/v1/auth', sourceIp: '127.0.0.1' },
        stage: '$default',
      },
    });
    expect(event.headers).not.toHaveProperty('cookie');
  });

  it('answers CORS like the stack’s corsPreflight: only the listed origins, none by default', () => {
    expect(corsHeaders('https://a.example', [])).toEqual({});
    expect(corsHeaders('https://a.example', ['https://a.example'])).toMatchObject({
      'access-control-allow-origin': 'https://a.example',
    });
    expect(corsHeaders('https://b.example', ['https://a.example'])).toEqual({});
  });
});

describe('the npm start banner', () => {
  it('starts with the ready line and lists every endpoint under its label', () => {
    // Act
    const text = banner({
      tableName: 'switchboard',
      endpoints: {
        websocket: 'ws://127.0.0.1:8080/ws',
        auth: 'http://127.0.0.1:8080/api/v1/auth',
        management: 'http://127.0.0.1:8080/ws',
        eventBridge: 'http://127.0.0.1:8080',
        sqs: 'http://127.0.0.1:8080',
        dynamodb: 'http://127.0.0.1:8000',
      },
    });
    // Assess
    expect(text.split('\n')[0]).toBe(READY_LINE);
    expect(text).toContain('  WebSocket        ws://127.0.0.1:8080/ws\n');
    expect(text).toContain('  Management API   http://127.0.0.1:8080/ws/@connections/{id}\n');
    expect(text).toContain('  EventBridge      http://127.0.0.1:8080  (PutEvents)\n');
    expect(text).toContain(
      '  SQS              http://127.0.0.1:8080  (the publish queue and its dead letters)\n',
    );
    expect(text).toContain('  DynamoDB Local   http://127.0.0.1:8000  (table switchboard)\n');
  });
});
