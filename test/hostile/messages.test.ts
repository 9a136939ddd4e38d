/**
 * Hostile client messages against the real local stack (PROTOCOL §3–§4): each gets exactly one
 * documented reply (an `error` with its exact `code`, or the valid reply JSON.parse's reading
 * implies), the connection stays usable (a ping after each gets its pong), and nothing is stored
 * for it. Frames over API Gateway's 128 KB close the connection with 1009, as API Gateway does.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forgeJwt, LeakWatch, plantedClaims } from '../support/hostile-jwt.js';
import { expectCleanLogs, expectStillServing, useHostileStack } from '../support/hostile-stack.js';
import { TEST_SECRET } from '../support/local-stack.js';
import { type Message, TestClient } from '../support/ws-client.js';

const watch = new LeakWatch();
const suite = useHostileStack();
/** One connection takes every hostile message in turn; each case proves it is still usable. */
let mallory: TestClient;
let malloryId: string;
let mallorySub: string;
const others: TestClient[] = [];

const INVALID = { type: 'error', code: 'invalid_request' } as const;
const json = (value: unknown) => JSON.stringify(value);

async function connect(): Promise<{ client: TestClient; sub: string }> {
  const claims = plantedClaims(watch, { roles: [] });
  const token = watch.sent(forgeJwt({ alg: 'HS256', typ: 'JWT' }, claims, { hmac: TEST_SECRET }));
  const client = await TestClient.connect(suite.stack.websocketUrl, { token });
  others.push(client);
  return { client, sub: String(claims.sub) };
}

/**
 * Sends one raw frame on mallory's connection and checks the documented outcome: the reply,
 * then a ping answered by its pong, and nothing stored about her subscriptions.
 */
async function expectReply(raw: string, expected: Record<string, unknown>): Promise<Message> {
  mallory.send(raw);
  const reply = await mallory.next();
  expect(reply).toMatchObject(expected);
  if (reply.type === 'error') expect(reply.message).toEqual(expect.any(String));
  await expectStillServing(mallory);
  expect(await suite.probe.subscriptionsOf(malloryId)).toEqual({ items: [], channels: [] });
  return reply;
}

/** A ping padded with an ignored field to exactly `bytes` UTF-8 bytes. */
function pingOfBytes(bytes: number): string {
  const overhead = Buffer.byteLength('{"action":"ping","pad":""}');
  return `{"action":"ping","pad":"${'p'.repeat(bytes - overhead)}"}`;
}

beforeAll(async () => {
  const connected = await connect();
  mallory = connected.client;
  mallorySub = connected.sub;
  malloryId = String((await mallory.request({ action: 'whoami' })).connectionId);
});

afterAll(async () => {
  await Promise.all(others.map((c) => c.close()));
});

type Case = [name: string, raw: string, expected: Record<string, unknown>];

describe('frames that are not JSON get invalid_request', () => {
  it.each<Case>([
    ['plain text', 'hello', INVALID],
    ['an empty frame', '', INVALID],
    ['a single space', ' ', INVALID],
    ['an opening brace only', '{', INVALID],
    ['an unterminated object', '{"action":"ping"', INVALID],
    ['single-quoted JSON', "{'action':'ping'}", INVALID],
    ['unquoted keys', '{action:"ping"}', INVALID],
    ['a trailing comma', '{"action":"ping",}', INVALID],
    ['a byte-order mark before the object', '\uFEFF{"action":"ping"}', INVALID],
    ['two objects in one frame', '{"action":"ping"}{"action":"ping"}', INVALID],
    ['an object followed by garbage', '{"action":"ping"} x', INVALID],
    ['a raw NUL', '\u0000', INVALID],
    ['a raw control character inside a string', '{"action":"pi\u0001ng"}', INVALID],
    ['the word undefined', 'undefined', INVALID],
    ['NaN', 'NaN', INVALID],
    ['a JavaScript comment', '{"action":"ping"} // hi', INVALID],
  ])('%s', async (_name, raw, expected) => {
    await expectReply(raw, expected);
  });
});

describe('JSON that is not a message object gets invalid_request', () => {
  it.each<Case>([
    ['an empty array', '[]', INVALID],
    ['an array holding a valid message', '[{"action":"ping"}]', INVALID],
    ['a string', '"ping"', INVALID],
    ['a number', '42', INVALID],
    ['null', 'null', INVALID],
    ['true', 'true', INVALID],
    ['an empty object', '{}', INVALID],
    ['action null', '{"action":null}', INVALID],
    ['type null', '{"type":null}', INVALID],
  ])('%s', async (_name, raw, expected) => {
    await expectReply(raw, expected);
  });
});

describe('duplicate keys: JSON.parse keeps the last one, and the reply follows it', () => {
  it.each<Case>([
    [
      '"action":"ping" then "action":"subscribe" (a subscribe without a channel)',
      '{"action":"ping","action":"subscribe"}',
      INVALID,
    ],
    [
      '"action":"subscribe" with a channel, then "action":"ping"',
      '{"action":"subscribe","channel":"dup","action":"ping"}',
      { type: 'pong' },
    ],
    [
      '"type":"ping" then "type":"stats" (stats, not an admin)',
      '{"type":"ping","type":"stats"}',
      { type: 'error', code: 'unauthorized' },
    ],
    [
      'a valid channel, then one with "#"',
      '{"action":"subscribe","channel":"fine","channel":"x#y"}',
      INVALID,
    ],
    [
      'a channel with "#", then a valid one, to unsubscribe',
      '{"action":"unsubscribe","channel":"x#y","channel":"fine"}',
      { type: 'unsubscribed', channel: 'fine' },
    ],
    ['"id":"a" then "id":"b"', '{"id":"a","action":"ping","id":"b"}', { type: 'pong', id: 'b' }],
    ['a valid id, then one too long', `{"action":"ping","id":"ok","id":"${'i'.repeat(65)}"}`, INVALID],
    ['"action":"ping" and "type":"ping" agreeing', '{"action":"ping","type":"ping"}', { type: 'pong' }],
    ['"action" and "type" disagreeing', '{"action":"ping","type":"whoami"}', INVALID],
  ])('%s', async (_name, raw, expected) => {
    await expectReply(raw, expected);
  });
});

describe('unknown, mis-cased or mistyped actions get invalid_request', () => {
  const names = [
    'emit',
    'SUBSCRIBE',
    'Subscribe',
    'subscribe ',
    ' ping',
    'PING',
    'pïng',
    'ping\u0000',
    '',
    '__proto__',
    'constructor',
    'toString',
    'hasOwnProperty',
    'valueOf',
    '$default',
    '$connect',
    '$disconnect',
    'list-channels',
    'listChannels',
    'whoAmI',
    'broadcast',
    'admin',
  ];
  it.each(names.map((name): Case => [`action ${json(name)}`, json({ action: name, channel: 'a' }), INVALID]))(
    '%s',
    async (_name, raw, expected) => {
      await expectReply(raw, expected);
    },
  );

  it.each<Case>([
    ['type "__proto__"', json({ type: '__proto__' }), INVALID],
    ['action as a number', '{"action":7}', INVALID],
    ['action true', '{"action":true}', INVALID],
    ['action as an array ["ping"]', '{"action":["ping"]}', INVALID],
    ['action as an object', '{"action":{"ping":true}}', INVALID],
    ['type as an array ["ping"]', '{"type":["ping"]}', INVALID],
    ['an empty action beside type "ping"', '{"action":"","type":"ping"}', INVALID],
  ])('%s', async (_name, raw, expected) => {
    await expectReply(raw, expected);
  });
});

describe('fields of the wrong type get invalid_request, echoing a valid id', () => {
  const fields: Array<[string, Record<string, unknown>]> = [
    ['subscribe: channel as a number', { action: 'subscribe', channel: 42 }],
    ['subscribe: channel null', { action: 'subscribe', channel: null }],
    ['subscribe: channel true', { action: 'subscribe', channel: true }],
    ['subscribe: channel as an array', { action: 'subscribe', channel: ['a'] }],
    ['subscribe: channel as an object', { action: 'subscribe', channel: { name: 'a' } }],
    ['subscribe: no channel', { action: 'subscribe' }],
    ['unsubscribe: channel as a number', { action: 'unsubscribe', channel: 42 }],
    ['unsubscribe: no channel', { action: 'unsubscribe' }],
    ['subscribe: since -1', { action: 'subscribe', channel: 'a', since: -1 }],
    ['subscribe: since 1.5', { action: 'subscribe', channel: 'a', since: 1.5 }],
    ['subscribe: since as a string', { action: 'subscribe', channel: 'a', since: '3' }],
    ['subscribe: since null', { action: 'subscribe', channel: 'a', since: null }],
    ['subscribe: since 2^53', { action: 'subscribe', channel: 'a', since: 2 ** 53 }],
    ['subscribe: since true', { action: 'subscribe', channel: 'a', since: true }],
    ['refresh: token as a number', { action: 'refresh', token: 123 }],
    ['refresh: an empty token', { action: 'refresh', token: '' }],
    ['refresh: token null', { action: 'refresh', token: null }],
    ['refresh: token as an array', { action: 'refresh', token: ['x.y.z'] }],
    ['refresh: no token', { action: 'refresh' }],
  ];
  it.each(
    fields.map(([name, body]): Case => [name, json({ ...body, id: 'typed' }), { ...INVALID, id: 'typed' }]),
  )('%s', async (_name, raw, expected) => {
    await expectReply(raw, expected);
  });

  it.each<Case>([
    ['id as a number', '{"action":"ping","id":5}', INVALID],
    ['id null', '{"action":"ping","id":null}', INVALID],
    ['id true', '{"action":"ping","id":true}', INVALID],
    ['id as an object', '{"action":"ping","id":{}}', INVALID],
    ['id as an array', '{"action":"ping","id":["a"]}', INVALID],
    ['a 65-character id on ping', json({ action: 'ping', id: 'i'.repeat(65) }), INVALID],
    [
      'a 65-character id on subscribe',
      json({ action: 'subscribe', channel: 'a', id: 'i'.repeat(65) }),
      INVALID,
    ],
    ['since 1e400 (Infinity once parsed)', '{"action":"subscribe","channel":"a","since":1e400}', INVALID],
  ])('%s', async (_name, raw, expected) => {
    const reply = await expectReply(raw, expected);
    expect(reply).not.toHaveProperty('id');
  });
});

describe('channel names that break the grammar get invalid_request, and store nothing', () => {
  const channels: Array<[string, string]> = [
    ['empty', ''],
    ['a space inside', 'a b'],
    ['a leading space', ' a'],
    ['a trailing space', 'a '],
    ['a NUL', 'a\u0000b'],
    ['CR/LF', 'a\r\nb'],
    ['a line feed', 'a\nb'],
    ['a tab', 'a\tb'],
    ['a Cyrillic look-alike of "announcements"', '\u0430nnouncements'],
    ['full-width letters', 'ａｎｎｏｕｎｃｅｍｅｎｔｓ'],
    ['a zero-width space', 'announcements\u200b'],
    ['an accented letter', 'caf\u00e9'],
    ['an emoji', 'emoji\u{1F600}'],
    ['a lone high surrogate', 'a\ud800'],
    ['a lone low surrogate', '\udc00b'],
    ['129 characters', 'c'.repeat(129)],
    ['1,000 characters', 'c'.repeat(1000)],
    ['the key delimiter "#"', 'x#y'],
    ['only "#"', '#'],
    ['a forged partition key', 'chan#acme#orders'],
    ['a percent-encoded "#"', '%23'],
    ['a percent-encoded "#" inside', 'a%23b'],
    ['a slash', 'a/b'],
    ['a path traversal', '../x'],
    ['a wildcard', 'a*'],
    ['only a wildcard', '*'],
    ['a wildcard inside', 'a:*:b'],
    ['two wildcards', 'a:**'],
    ['a policy placeholder', 'user:{userId}'],
    ['a semicolon', 'a;b'],
    ['a single quote', "a'b"],
    ['a double quote', 'a"b'],
    ['a backslash', 'a\\b'],
    ['markup', '<script>'],
    ['a plus', 'a+b'],
    ['a comma', 'a,b'],
    ['an equals sign', 'a=b'],
  ];
  it.each(
    channels.map(
      ([name, channel]): Case => [`subscribe: ${name}`, json({ action: 'subscribe', channel }), INVALID],
    ),
  )('%s', async (_name, raw, expected) => {
    await expectReply(raw, expected);
  });

  it.each<Case>([
    // A well-formed pattern (PROTOCOL §8), but one that reaches channels only admins may read.
    [
      'subscribe: a system wildcard',
      json({ action: 'subscribe', channel: 'system:*' }),
      { type: 'error', code: 'subscription_failed', channel: 'system:*' },
    ],
    [
      'subscribe: a user wildcard',
      json({ action: 'subscribe', channel: 'user:*' }),
      { type: 'error', code: 'subscription_failed' },
    ],
    [
      'subscribe: since with a wildcard',
      json({ action: 'subscribe', channel: 'apps:*', since: 0 }),
      { ...INVALID, channel: 'apps:*' },
    ],
    ['unsubscribe: the key delimiter "#"', json({ action: 'unsubscribe', channel: 'x#y' }), INVALID],
    ['unsubscribe: empty', json({ action: 'unsubscribe', channel: '' }), INVALID],
    ['unsubscribe: 129 characters', json({ action: 'unsubscribe', channel: 'c'.repeat(129) }), INVALID],
    [
      'subscribe with an id: a space inside',
      json({ action: 'subscribe', channel: 'a b', id: 'corr-1' }),
      { ...INVALID, id: 'corr-1' },
    ],
  ])('%s', async (_name, raw, expected) => {
    await expectReply(raw, expected);
  });

  it('a channel of exactly 128 characters is accepted (control)', async () => {
    const { client } = await connect();
    const channel = 'c'.repeat(128);
    expect(await client.request({ action: 'subscribe', channel })).toMatchObject({
      type: 'subscribed',
      channel,
    });
    await client.close();
  });
});

describe('deep nesting', () => {
  const arrays = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
  const objects = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
  it.each<Case>([
    [
      '10,000 nested arrays in an unknown field are ignored (tolerant reader): pong',
      `{"action":"ping","x":${arrays(10_000)}}`,
      { type: 'pong' },
    ],
    [
      '5,000 nested objects in an unknown field are ignored: pong',
      `{"action":"ping","x":${objects(5_000)}}`,
      { type: 'pong' },
    ],
    ['10,000 nested arrays as the channel', `{"action":"subscribe","channel":${arrays(10_000)}}`, INVALID],
    ['10,000 nested arrays as the id', `{"action":"ping","id":${arrays(10_000)}}`, INVALID],
    ['10,000 nested arrays as the action', `{"action":${arrays(10_000)}}`, INVALID],
    ['10,000 nested arrays as the whole frame', arrays(10_000), INVALID],
    ['60,000 nested arrays (over 32 KB)', `{"action":"ping","x":${arrays(60_000)}}`, INVALID],
  ])('%s', async (_name, raw, expected) => {
    await expectReply(raw, expected);
  });
});

describe('over-size frames', () => {
  it('a frame of exactly 32 KB is accepted (control)', async () => {
    await expectReply(pingOfBytes(32 * 1024), { type: 'pong' });
  });

  it.each<Case>([
    ['32 KB + 1 byte', pingOfBytes(32 * 1024 + 1), INVALID],
    [
      '11,000 three-byte characters (11,026 characters, 33,026 bytes: the limit counts bytes)',
      `{"action":"ping","pad":"${'€'.repeat(11_000)}"}`,
      INVALID,
    ],
    ['64 KB', pingOfBytes(64 * 1024), INVALID],
    ['exactly 128 KB, the gateway limit', pingOfBytes(128 * 1024), INVALID],
  ])('%s gets invalid_request and the connection stays usable', async (_name, raw, expected) => {
    await expectReply(raw, expected);
  });

  it.each([
    ['128 KB + 1 byte', 128 * 1024 + 1],
    ['1 MB', 1024 * 1024],
  ])(
    '%s closes the connection with 1009, like API Gateway, and the stack serves others',
    async (_name, bytes) => {
      const { client } = await connect();
      client.send(pingOfBytes(bytes));
      expect((await client.closed).code).toBe(1009);
      await expectStillServing(mallory);
    },
  );
});

describe('__proto__ and constructor keys in messages', () => {
  it.each<Case>([
    [
      'ping with a __proto__ carrying an action: pong',
      '{"action":"ping","__proto__":{"action":"subscribe"}}',
      { type: 'pong' },
    ],
    ['an action only under __proto__', '{"__proto__":{"action":"ping"}}', INVALID],
    [
      'an action only under constructor.prototype',
      '{"constructor":{"prototype":{"action":"ping"}}}',
      INVALID,
    ],
    ['a channel only under __proto__', '{"action":"subscribe","__proto__":{"channel":"fine"}}', INVALID],
    [
      'a system channel under __proto__ beside a real one',
      '{"action":"unsubscribe","channel":"x","__proto__":{"channel":"system:ops"}}',
      { type: 'unsubscribed', channel: 'x' },
    ],
    [
      'an id under __proto__ beside a real one',
      '{"action":"ping","id":"p","__proto__":{"id":"x"}}',
      { type: 'pong', id: 'p' },
    ],
    [
      'stats with an admin role under __proto__',
      '{"action":"stats","__proto__":{"roles":["admin"]}}',
      { type: 'error', code: 'unauthorized' },
    ],
    [
      'a system channel with isAdmin under __proto__',
      '{"action":"subscribe","channel":"system:ops","__proto__":{"isAdmin":true,"roles":["admin"]}}',
      { type: 'error', code: 'subscription_failed', channel: 'system:ops' },
    ],
  ])('%s', async (_name, raw, expected) => {
    await expectReply(raw, expected);
  });

  it('whoami with roles under __proto__ shows the user exactly as the token made it', async () => {
    const reply = await expectReply('{"action":"whoami","__proto__":{"roles":["admin"],"tenant":"globex"}}', {
      type: 'connected',
    });
    expect(reply.user).toEqual({
      userId: mallorySub,
      roles: [],
      email: expect.stringMatching(/@claims\.test$/),
    });
  });
});

describe('frames API Gateway itself refuses, and bursts', () => {
  it('a binary frame holding a valid ping closes the connection with 1003, and the stack serves others', async () => {
    const { client } = await connect();
    client.socket.send(Buffer.from('{"action":"ping"}'), { binary: true });
    expect((await client.closed).code).toBe(1003);
    await expectStillServing(mallory);
  });

  it('a burst of 100 hostile frames gets 100 replies, in order, and the connection stays usable', async () => {
    // Prepare
    const frames = Array.from({ length: 100 }, (_, i) =>
      i % 2 === 0
        ? json({ action: 'subscribe', channel: `bad#${i}`, id: `b${i}` })
        : `{"action":"nope","id":"b${i}"}`,
    );
    // Act
    for (const frame of frames) mallory.send(frame);
    const replies: Message[] = [];
    for (let i = 0; i < frames.length; i += 1) replies.push(await mallory.next());
    // Assess
    expect(replies.map((r) => [r.type, r.code, r.id])).toEqual(
      frames.map((_, i) => ['error', 'invalid_request', `b${i}`]),
    );
    await expectStillServing(mallory);
    expect(await suite.probe.subscriptionsOf(malloryId)).toEqual({ items: [], channels: [] });
  });
});

describe('afterwards', () => {
  it('the stack still serves a new connection, and its logs hold no token and no planted claim', async () => {
    const { client, sub } = await connect();
    expect(await client.request({ action: 'whoami' })).toMatchObject({
      type: 'connected',
      user: { userId: sub, roles: [] },
    });
    await expectStillServing(mallory);
    expectCleanLogs(suite.stack.logs(), watch);
  });
});
