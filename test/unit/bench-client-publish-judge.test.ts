import { describe, expect, it } from 'vitest';
import { acceptedEvents, compareRoundTrips, judgeClientPublish } from '../../bench/client-publish-judge.js';
import type { RequestResult } from '../../bench/worker-protocol.js';
import { type Receipt, tracked } from '../support/tracked-receipts.js';

/** Client `a` published e1 and e2 to `room:x` (sent at 100 and 110) and had two more refused. */
const results: RequestResult[] = [
  {
    replies: {},
    published: {
      a: [
        { id: 'p1', eventId: 'e1', channel: 'room:x', sentAt: 100, repliedAt: 105 },
        { id: 'p2', eventId: 'e2', channel: 'room:x', sentAt: 110, repliedAt: 118 },
      ],
    },
    refused: {
      a: [
        { id: 'p3', code: 'rate_limited', sentAt: 111 },
        { id: 'p4', code: 'rate_limited', sentAt: 112 },
      ],
    },
  },
];
const audience = new Map([['room:x', ['a', 'b']]]);
const receipt = (key: string, id: string, seq: number, time: number): Receipt => ({
  key,
  id,
  channel: 'room:x',
  seq,
  time,
});

describe('judging client publishes', () => {
  it('takes the events the published replies named, timed from when each request was sent', () => {
    // Act
    const events = acceptedEvents(results);
    // Assess
    expect(events).toEqual([
      { id: 'e1', channel: 'room:x', acceptedAt: 100 },
      { id: 'e2', channel: 'room:x', acceptedAt: 110 },
    ]);
  });

  it('finds nothing wrong when every accepted event reaches every subscriber once', () => {
    // Prepare
    const receipts = [
      tracked([receipt('a', 'e1', 1, 130), receipt('a', 'e2', 2, 140)]),
      tracked([receipt('b', 'e1', 1, 131), receipt('b', 'e2', 2, 141)]),
    ];
    // Act
    const judged = judgeClientPublish(results, audience, receipts);
    // Assess
    expect(judged).toMatchObject({
      accepted: 2,
      refused: { rate_limited: 2 },
      expected: 4,
      delivered: 4,
      lost: 0,
      duplicated: 0,
      unexpected: 0,
      refusedDelivered: 0,
    });
    expect(judged.seq).toEqual({ channels: 1, exact: 1, problems: [] });
    expect([...judged.latencies]).toEqual([30, 30, 31, 31]);
  });

  it('counts an event no published reply named (a refused publish) as refused delivered, once per event', () => {
    // Prepare: e1 and e2 arrive; so does an event nobody was told of, at both subscribers.
    const receipts = [
      tracked([receipt('a', 'e1', 1, 130), receipt('a', 'e2', 2, 140), receipt('a', 'e9', 3, 150)]),
      tracked([receipt('b', 'e1', 1, 131), receipt('b', 'e2', 2, 141), receipt('b', 'e9', 3, 151)]),
    ];
    // Act
    const judged = judgeClientPublish(results, audience, receipts);
    // Assess
    expect(judged.refusedDelivered).toBe(1);
    expect(judged.unexpected).toBe(2);
    expect(judged.delivered).toBe(4);
  });

  it('counts an accepted event that never reached a subscriber as lost and one that arrived twice as duplicated', () => {
    // Prepare: b never gets e2, a gets e1 twice.
    const receipts = [
      tracked([receipt('a', 'e1', 1, 130), receipt('a', 'e1', 1, 135), receipt('a', 'e2', 2, 140)]),
      tracked([receipt('b', 'e1', 1, 131)]),
    ];
    // Act
    const judged = judgeClientPublish(results, audience, receipts);
    // Assess
    expect(judged).toMatchObject({ expected: 4, delivered: 3, lost: 1, duplicated: 1, refusedDelivered: 0 });
  });
});

describe('comparing round trips', () => {
  it('summarizes each side and divides client by service at each percentile', () => {
    // Prepare
    const client = Array.from({ length: 100 }, (_, i) => 20 + i * 0.2);
    const service = Array.from({ length: 100 }, (_, i) => 10 + i * 0.1);
    // Act
    const compared = compareRoundTrips(client, service);
    // Assess
    expect(compared.client.count).toBe(100);
    expect(compared.client.p50).toBe(29.8);
    expect(compared.service.p50).toBe(14.9);
    expect(compared.ratio).toEqual({ p50: 2, p95: 2, p99: 2 });
  });

  it('gives no ratio when the service side has no samples', () => {
    // Act
    const compared = compareRoundTrips([5, 6], []);
    // Assess
    expect(Number.isNaN(compared.ratio.p50)).toBe(true);
  });
});
