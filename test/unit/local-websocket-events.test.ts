import { describe, expect, it } from 'vitest';
import {
  type ConnectionFacts,
  collectHeaders,
  collectQuery,
  connectEvent,
  disconnectEvent,
  internalErrorFrame,
  messageEvent,
  selectableRouteKeys,
  selectRoute,
  toProxyResult,
} from '../../local/emulator/websocket-events.js';

const facts: ConnectionFacts = {
  connectionId: 'L0SM9cOFvHcCIhw=',
  connectedAt: 1_700_000_000_000,
  identity: { sourceIp: '127.0.0.1', userAgent: 'test-agent' },
  stage: 'ws',
  domainName: '127.0.0.1:8080',
  apiId: 'abcdefghij',
};
const routes = selectableRouteKeys(['$connect', '$disconnect', '$default', 'subscribe', 'ping']);

describe('route selection on $request.body.action', () => {
  it('routes a JSON object whose action names a route to that route', () => {
    expect(selectRoute('{"action":"subscribe","channel":"news"}', routes)).toBe('subscribe');
  });

  it.each([
    ['text that is not JSON', 'hello'],
    ['a JSON array', '[{"action":"ping"}]'],
    ['JSON null', 'null'],
    ['an object without action', '{"type":"ping"}'],
    ['an unknown action', '{"action":"dance"}'],
    ['an action that is not a string', '{"action":1}'],
    ['a special route key', '{"action":"$connect"}'],
  ])('sends %s to $default', (_name, body) => {
    expect(selectRoute(body, routes)).toBe('$default');
  });
});

describe('the events handed to route handlers', () => {
  it('gives $connect the handshake headers as received, the query string and the connection identity', () => {
    // Prepare
    const rawHeaders = [
      'Host',
      '127.0.0.1:8080',
      'Sec-WebSocket-Protocol',
      'a',
      'X-Multi',
      '1',
      'X-Multi',
      '2',
    ];
    // Act
    const event = connectEvent(facts, { rawHeaders, url: '/ws?token=abc&x=1&x=2', localPort: 8080 });
    // Assess
    expect(event.headers).toMatchObject({
      Host: '127.0.0.1:8080',
      'Sec-WebSocket-Protocol': 'a',
      'X-Multi': '2',
    });
    expect(event.multiValueHeaders?.['X-Multi']).toEqual(['1', '2']);
    expect(event.headers?.['X-Forwarded-For']).toBe('127.0.0.1');
    expect(event.headers?.['X-Amzn-Trace-Id']).toMatch(/^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$/);
    expect(event.queryStringParameters).toEqual({ token: 'abc', x: '2' });
    expect(event.multiValueQueryStringParameters).toEqual({ token: ['abc'], x: ['1', '2'] });
    expect(event.isBase64Encoded).toBe(false);
    expect(event.requestContext).toMatchObject({
      routeKey: '$connect',
      eventType: 'CONNECT',
      messageDirection: 'IN',
      stage: 'ws',
      connectionId: facts.connectionId,
      connectedAt: facts.connectedAt,
      identity: { sourceIp: '127.0.0.1', userAgent: 'test-agent' },
      domainName: '127.0.0.1:8080',
      apiId: 'abcdefghij',
    });
    expect(event.requestContext.requestTime).toMatch(
      /^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/,
    );
  });

  it('omits the query string fields entirely when the URL has none, as API Gateway does', () => {
    expect(collectQuery('/ws')).toEqual({});
    expect(collectQuery('/ws?')).toEqual({});
  });

  it('keeps the last value of a repeated header and every value in multiValueHeaders', () => {
    expect(collectHeaders(['A', '1', 'a', '2', 'A', '3'])).toEqual({
      headers: { A: '3', a: '2' },
      multiValueHeaders: { A: ['1', '3'], a: ['2'] },
    });
  });

  it('gives a message its route key, body and fresh request ids shaped like API Gateway ids', () => {
    // Act
    const first = messageEvent(facts, { routeKey: 'ping', body: '{"action":"ping"}' });
    const second = messageEvent(facts, { routeKey: 'ping', body: '{"action":"ping"}' });
    // Assess
    expect(first).toMatchObject({ body: '{"action":"ping"}', isBase64Encoded: false });
    expect(first.requestContext).toMatchObject({ routeKey: 'ping', eventType: 'MESSAGE' });
    expect(first.requestContext.requestId).toMatch(/^[A-Za-z0-9+/]{15}=$/);
    expect(first.requestContext.messageId).not.toBe(second.requestContext.messageId);
    expect(first).not.toHaveProperty('headers');
  });

  it('gives $disconnect the close code and reason and only the headers API Gateway sends on disconnect', () => {
    // Act
    const event = disconnectEvent(facts, { host: 'h:1', statusCode: 1001, reason: 'Going away' });
    // Assess
    expect(event.headers).toEqual({ Host: 'h:1', 'x-api-key': '', 'X-Forwarded-For': '', 'x-restapi': '' });
    expect(event.requestContext).toMatchObject({
      routeKey: '$disconnect',
      eventType: 'DISCONNECT',
      disconnectStatusCode: 1001,
      disconnectReason: 'Going away',
    });
  });
});

describe('what the gateway makes of handler results', () => {
  it('writes the internal error frame byte for byte like API Gateway', () => {
    expect(internalErrorFrame('c=', 'r=')).toBe(
      '{"message": "Internal server error", "connectionId":"c=", "requestId":"r="}',
    );
  });

  it('reads a proxy result and rejects one without a valid statusCode', () => {
    expect(toProxyResult({ statusCode: 200, headers: { A: 1 }, body: 'x' })).toEqual({
      statusCode: 200,
      headers: { A: '1' },
      body: 'x',
      isBase64Encoded: false,
    });
    expect(toProxyResult(undefined)).toBeUndefined();
    expect(toProxyResult('ok')).toBeUndefined();
    expect(toProxyResult({ body: 'x' })).toBeUndefined();
  });
});
