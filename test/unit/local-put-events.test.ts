import { describe, expect, it } from 'vitest';
import { LocalActivity } from '../../local/console/activity.js';
import {
  busNameOf,
  entrySize,
  jsonDepth,
  MAX_DETAIL_DEPTH,
  type PutEventsOptions,
  putEvents,
} from '../../local/emulator/put-events.js';

let counter = 0;
const options: PutEventsOptions = {
  busName: 'switchboard-bus',
  account: '000000000000',
  region: 'local',
  now: new Date('2026-11-21T12:00:00.123Z'),
  newId: () => `id-${++counter}`,
};
const entry = (fields: Record<string, unknown> = {}) => ({
  Source: 'svc',
  DetailType: 'created',
  Detail: JSON.stringify({ channel: 'news', data: { id: 1 } }),
  ...fields,
});

/** An EventBridge envelope as the rule hands it on, around `detail`. */
const envelope = (id: string, detail: Record<string, unknown>) =>
  ({
    version: '0',
    id,
    'detail-type': 't',
    source: 's',
    account: '000000000000',
    time: '2026-11-21T12:00:00Z',
    region: 'local',
    resources: [],
    detail,
  }) as const;

describe('PutEvents request validation', () => {
  it.each([
    ['no Entries', {}],
    ['zero entries', { Entries: [] }],
    ['eleven entries', { Entries: Array.from({ length: 11 }, () => entry()) }],
  ])('refuses %s with a ValidationException', (_name, body) => {
    const outcome = putEvents(body, options);
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) expect(outcome.error.__type).toBe('ValidationException');
  });

  it('refuses a request whose entries add up to more than 256 KB', () => {
    // Prepare
    const detail = JSON.stringify({ channel: 'news', data: 'x'.repeat(130 * 1024) });
    // Act
    const outcome = putEvents({ Entries: [entry({ Detail: detail }), entry({ Detail: detail })] }, options);
    // Assess
    expect(outcome).toMatchObject({ ok: false, error: { __type: 'ValidationException' } });
  });

  it('counts entry sizes the way EventBridge documents it', () => {
    expect(entrySize({ Source: 'ab', DetailType: 'c', Detail: '{}', Resources: ['r'] })).toBe(6);
    expect(entrySize({ Time: 1, Source: 'é' })).toBe(16);
  });
});

describe('PutEvents entry results', () => {
  it('answers each bad entry in its own slot and counts it as failed', () => {
    // Act
    const outcome = putEvents(
      {
        Entries: [
          entry(),
          entry({ Source: undefined }),
          entry({ DetailType: '' }),
          entry({ Detail: '[1,2]' }),
          entry({ Detail: 'not json' }),
          entry({ Source: 'aws.events' }),
          entry({ EventBusName: 'elsewhere' }),
        ],
      },
      options,
    );
    // Assess
    if (!outcome.ok) throw new Error('expected a response');
    expect(outcome.response.FailedEntryCount).toBe(6);
    expect(outcome.response.Entries.map((e) => e.ErrorCode)).toEqual([
      undefined,
      'InvalidArgument',
      'InvalidArgument',
      'MalformedDetail',
      'MalformedDetail',
      'NotAuthorizedForSourceException',
      'ResourceNotFoundException',
    ]);
    expect(outcome.response.Entries[1]?.ErrorMessage).toBe(
      'Parameter Source is not valid. Reason: Source is a required argument.',
    );
    expect(outcome.accepted).toHaveLength(1);
  });

  it('builds the envelope a rule target receives, with the EventId as its id', () => {
    // Act
    const outcome = putEvents({ Entries: [entry({ Resources: ['arn:x'] })] }, options);
    // Assess
    if (!outcome.ok) throw new Error('expected a response');
    const [accepted] = outcome.accepted;
    expect(accepted?.envelope).toEqual({
      version: '0',
      id: outcome.response.Entries[0]?.EventId,
      'detail-type': 'created',
      source: 'svc',
      account: '000000000000',
      time: '2026-11-21T12:00:00Z',
      region: 'local',
      resources: ['arn:x'],
      detail: { channel: 'news', data: { id: 1 } },
    });
  });

  it('takes Time as epoch seconds, the JSON 1.1 wire form', () => {
    const outcome = putEvents({ Entries: [entry({ Time: 1_700_000_000 })] }, options);
    if (!outcome.ok) throw new Error('expected a response');
    expect(outcome.accepted[0]?.envelope.time).toBe('2023-11-14T22:13:20Z');
  });

  it('accepts the default bus, the configured bus by name and by ARN, and tells them apart', () => {
    // Act
    const outcome = putEvents(
      {
        Entries: [
          entry(),
          entry({ EventBusName: 'default' }),
          entry({ EventBusName: 'switchboard-bus' }),
          entry({ EventBusName: 'arn:aws:events:local:000000000000:event-bus/switchboard-bus' }),
        ],
      },
      options,
    );
    // Assess
    if (!outcome.ok) throw new Error('expected a response');
    expect(outcome.response.FailedEntryCount).toBe(0);
    expect(outcome.accepted.map((a) => a.busName)).toEqual([
      'default',
      'default',
      'switchboard-bus',
      'switchboard-bus',
    ]);
    expect(busNameOf(undefined)).toBe('default');
  });
});

/** `{"channel":"news","data":[[…]]}` nested `depth` levels in all (the detail object included). */
const nested = (depth: number) =>
  `{"channel":"news","data":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`;

describe('deeply nested details', () => {
  it('measures nesting on the text, brackets inside strings not counted', () => {
    expect(jsonDepth('{}')).toBe(1);
    expect(jsonDepth('{"a":[{"b":[]}],"c":{}}')).toBe(4);
    expect(jsonDepth('{"a":"[[[{{{\\"]]]"}')).toBe(1);
    expect(jsonDepth(nested(20_000))).toBe(20_000);
  });

  it('refuses a Detail deeper than EventBridge processes in its own slot, and keeps the others', () => {
    // Act
    const outcome = putEvents(
      {
        Entries: [
          entry(),
          entry({ Detail: nested(20_000) }),
          entry({ Detail: nested(MAX_DETAIL_DEPTH + 1) }),
          entry({ Detail: nested(MAX_DETAIL_DEPTH) }),
          entry(),
        ],
      },
      options,
    );
    // Assess
    if (!outcome.ok) throw new Error('expected a response');
    expect(outcome.response.Entries.map((e) => e.ErrorCode)).toEqual([
      undefined,
      'MalformedDetail',
      'MalformedDetail',
      undefined,
      undefined,
    ]);
    expect(outcome.response.FailedEntryCount).toBe(2);
    expect(outcome.accepted).toHaveLength(3);
  });

  it('records an event whose data JSON.stringify cannot write, without throwing', () => {
    // Prepare
    const activity = new LocalActivity();
    const detail = JSON.parse(nested(20_000)) as Record<string, unknown>;
    // Act
    activity.accepted(envelope('deep', detail), 'publishing');
    // Assess
    expect(activity.recent()[0]).toMatchObject({ id: 'deep', channels: ['news'], status: 'publishing' });
  });
});

describe('the dashboard activity', () => {
  it('names where an event goes, and marks one the publish function will drop as ignored', () => {
    // Prepare
    const activity = new LocalActivity();
    // Act
    activity.accepted(envelope('ok', { broadcast: true, user: 'ana', data: 1 }), 'publishing');
    activity.accepted(envelope('bad', { broadcast: 'yes', data: 1 }), 'publishing');
    activity.settled('bad', 'published');
    // Assess
    const [bad, ok] = activity.recent();
    expect(ok).toMatchObject({ id: 'ok', channels: ['user:ana', 'broadcast'], status: 'publishing' });
    expect(bad).toMatchObject({ id: 'bad', status: 'ignored' });
  });
});
