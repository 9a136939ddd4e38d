import { describe, expect, it } from 'vitest';
import { readServerMessage } from '../../client/server-message.js';
import { describeHandshakeFailure, handshakeFor } from '../../client/websocket.js';

describe('handshakeFor', () => {
  it('adds the token to the query string, keeping the parameters already there', () => {
    // Prepare, Act
    const handshake = handshakeFor('wss://example.com/ws?tenant=acme', 'a.b.c', 'query');

    // Assess
    expect(handshake).toEqual({ url: 'wss://example.com/ws?tenant=acme&token=a.b.c' });
  });

  it('offers switchboard.v1 beside token-<jwt> and leaves the URL alone with the protocol transport', () => {
    // Prepare, Act
    const handshake = handshakeFor('wss://example.com/ws', 'a.b.c', 'protocol');

    // Assess
    expect(handshake).toEqual({ url: 'wss://example.com/ws', protocols: ['switchboard.v1', 'token-a.b.c'] });
  });

  it('sends no token at all for an anonymous connection', () => {
    // Prepare, Act, Assess
    expect(handshakeFor('wss://example.com/ws', undefined, 'protocol')).toEqual({
      url: 'wss://example.com/ws',
    });
  });
});

describe('describeHandshakeFailure', () => {
  it('reads the HTTP status that ws reports for a refused upgrade', () => {
    // Prepare
    const error = new Error('Unexpected server response: 401');

    // Act
    const failure = describeHandshakeFailure({ type: 'error', message: error.message, error });

    // Assess
    expect(failure).toEqual({ kind: 'status', status: 401 });
  });

  it('recognises a network error by its Node system error code', () => {
    // Prepare
    const error = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });

    // Act
    const failure = describeHandshakeFailure({ type: 'error', message: error.message, error });

    // Assess
    expect(failure).toEqual({ kind: 'network' });
  });

  it('says unknown for a browser error event, and for messages it cannot be sure of', () => {
    // Prepare, Act, Assess
    expect(describeHandshakeFailure({ type: 'error' })).toEqual({ kind: 'unknown' });
    expect(describeHandshakeFailure(undefined)).toEqual({ kind: 'unknown' });
    const undici = new TypeError('Received network error or non-101 status code.');
    expect(describeHandshakeFailure({ type: 'error', message: '', error: undici })).toEqual({
      kind: 'unknown',
    });
  });
});

describe('readServerMessage', () => {
  it('reads an event frame', () => {
    // Prepare
    const frame = JSON.stringify({
      type: 'event',
      id: '6a1f',
      channel: 'cluster_code_16',
      event_type: 'workspace_created',
      data: { id: 11 },
      seq: 42,
      timestamp: '2026-11-21T12:00:00.000Z',
    });

    // Act
    const message = readServerMessage(frame);

    // Assess
    expect(message).toMatchObject({ type: 'event', id: '6a1f', event_type: 'workspace_created', seq: 42 });
  });

  it('drops frames it cannot trust, and passes through types it does not know', () => {
    // Prepare, Act, Assess
    expect(readServerMessage('not json')).toBeUndefined();
    expect(readServerMessage('[1,2]')).toBeUndefined();
    expect(readServerMessage(new Uint8Array([123, 125]))).toBeUndefined();
    expect(readServerMessage('{"type":"event","id":"e1","channel":"a"}')).toBeUndefined();
    expect(readServerMessage('{"type":"subscribed","channel":"a","id":7}')).toBeUndefined();
    expect(readServerMessage('{"type":"future_thing","x":1}')).toEqual({ type: 'future_thing', x: 1 });
  });
});
