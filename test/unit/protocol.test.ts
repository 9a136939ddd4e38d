import { describe, expect, it } from 'vitest';
import { errorMessage, ProtocolError, parseClientMessage, serverMessage } from '../../core/protocol.js';

function refusal(raw: string, maxBytes?: number): ProtocolError {
  try {
    parseClientMessage(raw, maxBytes);
  } catch (error) {
    if (error instanceof ProtocolError) return error;
    throw error;
  }
  throw new Error(`expected ${raw} to be refused`);
}

describe('parseClientMessage', () => {
  it('accepts the action style and the type style alike', () => {
    // Act
    const a = parseClientMessage('{"action":"subscribe","channel":"cluster_code_16"}');
    const t = parseClientMessage('{"type":"subscribe","channel":"apps:created"}');
    // Assess
    expect(a).toEqual({ action: 'subscribe', channel: 'cluster_code_16' });
    expect(t).toEqual({ action: 'subscribe', channel: 'apps:created' });
  });

  it('accepts every action of the protocol with its fields', () => {
    expect(parseClientMessage('{"type":"ping","id":"p1"}')).toEqual({ action: 'ping', id: 'p1' });
    expect(parseClientMessage('{"action":"whoami"}')).toEqual({ action: 'whoami' });
    expect(parseClientMessage('{"action":"list_channels"}')).toEqual({ action: 'list_channels' });
    expect(parseClientMessage('{"action":"stats"}')).toEqual({ action: 'stats' });
    expect(parseClientMessage('{"action":"refresh","token":"x.y.z"}')).toEqual({
      action: 'refresh',
      token: 'x.y.z',
    });
    expect(parseClientMessage('{"action":"unsubscribe","channel":"a"}')).toEqual({
      action: 'unsubscribe',
      channel: 'a',
    });
    expect(parseClientMessage('{"action":"subscribe","channel":"a","since":42}')).toEqual({
      action: 'subscribe',
      channel: 'a',
      since: 42,
    });
  });

  it('ignores fields it does not know, as a tolerant reader', () => {
    expect(parseClientMessage('{"action":"ping","extra":[1,2]}')).toEqual({ action: 'ping' });
  });

  it.each([
    ['not JSON', 'hello', /not valid JSON/],
    ['an array', '[1,2]', /JSON object/],
    ['null', 'null', /JSON object/],
    ['a string', '"subscribe"', /JSON object/],
    ['no action', '{"channel":"a"}', /needs an "action"/],
    ['an unknown action', '{"action":"emit"}', /unknown action "emit"/],
    ['a mis-cased action', '{"action":"Subscribe","channel":"a"}', /unknown action/],
    ['a non-string action', '{"action":7}', /unknown action number/],
    ['disagreeing action and type', '{"action":"ping","type":"whoami"}', /disagree/],
    ['a missing channel', '{"action":"subscribe"}', /channel/],
    ['a numeric channel', '{"action":"subscribe","channel":5}', /channel must be a string/],
    ['an empty channel', '{"action":"subscribe","channel":""}', /1-128 characters/],
    ['a 129-character channel', `{"action":"subscribe","channel":"${'a'.repeat(129)}"}`, /1-128/],
    ['a channel with a key delimiter', '{"action":"subscribe","channel":"a#b"}', /1-128 characters of/],
    ['a channel with a NUL', '{"action":"subscribe","channel":"a\\u0000b"}', /1-128 characters of/],
    ['a channel with CR/LF', '{"action":"subscribe","channel":"a\\r\\nb"}', /1-128 characters of/],
    [
      'a unicode look-alike channel',
      '{"action":"subscribe","channel":"аnnouncements"}',
      /1-128 characters of/,
    ],
    ['a lone surrogate channel', '{"action":"subscribe","channel":"a\\ud800"}', /1-128 characters of/],
    ['a long id', `{"action":"ping","id":"${'i'.repeat(65)}"}`, /id must be at most 64/],
    ['a numeric id', '{"action":"ping","id":3}', /id must be a string/],
    ['a negative since', '{"action":"subscribe","channel":"a","since":-1}', /since/],
    ['a fractional since', '{"action":"subscribe","channel":"a","since":1.5}', /since/],
    ['an empty refresh token', '{"action":"refresh","token":""}', /token is empty/],
  ])('refuses %s as invalid_request', (_name, raw, message) => {
    // Act
    const error = refusal(raw);
    // Assess
    expect(error.code).toBe('invalid_request');
    expect(error.message).toMatch(message);
  });

  it('refuses a message over the byte limit before validating it', () => {
    const error = refusal(`{"action":"ping","pad":"${'x'.repeat(100)}"}`, 64);
    expect(error.message).toMatch(/limit is 64/);
  });

  it('keeps the correlation id of a message refused for its size, so a waiting client hears why', () => {
    // Prepare: a publish of 40 KB against the default 32 KB limit
    const raw = JSON.stringify({ action: 'publish', channel: 'room:1', data: 'x'.repeat(40_000), id: 'c9' });
    // Act
    const error = refusal(raw);
    // Assess
    expect(error.message).toMatch(/limit is 32768/);
    expect(error.details.id).toBe('c9');
    expect(refusal(`${raw.slice(0, -1)},"broken`).details.id).toBeUndefined();
  });

  it('keeps a valid correlation id on the refusal so the client can match it', () => {
    const error = refusal('{"action":"subscribe","channel":"no spaces","id":"req-1"}');
    expect(error.details.id).toBe('req-1');
  });
});

describe('server messages', () => {
  it('stamp an ISO 8601 UTC timestamp and drop absent optional fields', () => {
    // Act
    const message = serverMessage({ type: 'pong', id: undefined }, new Date('2026-11-21T12:00:00Z'));
    // Assess
    expect(message).toEqual({ type: 'pong', timestamp: '2026-11-21T12:00:00.000Z' });
  });

  it('render a refusal as an error reply with its code, id and channel', () => {
    const reply = errorMessage(new ProtocolError('subscription_failed', 'nope', { id: 'x', channel: 'c' }));
    expect(reply).toMatchObject({
      type: 'error',
      code: 'subscription_failed',
      message: 'nope',
      id: 'x',
      channel: 'c',
    });
  });
});
