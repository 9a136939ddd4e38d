/**
 * Judging the soak: what each client received against what was published to its tenant and
 * channels. Pure, so it can be checked without sockets (the client workers call it on their
 * recorded receipts).
 */
import type { SoakClient, SoakEvaluation, SoakEvent, SoakSample } from './worker-protocol.js';

const MAX_SAMPLES = 20;

/** One client's receipts during the soak, as parallel arrays (id, channel, receipt time). */
export interface SoakReceipts {
  readonly spec: SoakClient;
  readonly ids: readonly string[];
  readonly channels: readonly string[];
  readonly times: readonly number[];
  /** Said about the client in a lost sample (e.g. its socket state). */
  readonly state: string;
}

function sample(
  client: SoakClient,
  event: SoakEvent | undefined,
  id: string,
  channel: string,
  detail: string,
): SoakSample {
  return {
    key: client.key,
    clientTenant: client.tenant,
    eventId: id,
    eventTenant: event?.tenant,
    channel,
    detail,
  };
}

/**
 * - unexpected: an id that was not published, another tenant's event, an event delivered under
 *   another channel than it was published on, or a channel the client did not subscribe to;
 * - duplicated: the same (id, channel) again;
 * - lost: a published (event, channel) of the client's tenant and channels that never arrived.
 */
export function judgeSoak(
  receipts: readonly SoakReceipts[],
  published: readonly SoakEvent[],
): SoakEvaluation {
  const byId = new Map(published.map((event) => [event.id, event]));
  const byAudience = new Map<string, SoakEvent[]>();
  for (const event of published) {
    const audience = `${event.tenant ?? ''}#${event.channel}`;
    const list = byAudience.get(audience) ?? [];
    list.push(event);
    byAudience.set(audience, list);
  }
  const latencies: number[] = [];
  const result = {
    received: 0,
    expected: 0,
    delivered: 0,
    lost: 0,
    duplicated: 0,
    unexpected: 0,
    lostSamples: [] as SoakSample[],
    duplicateSamples: [] as SoakSample[],
    unexpectedSamples: [] as SoakSample[],
  };
  for (const { spec, ids, channels, times, state } of receipts) {
    const subscribed = new Set(spec.channels);
    const seen = new Set<string>();
    result.received += ids.length;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i] as string;
      const channel = channels[i] as string;
      const event = byId.get(id);
      const reason =
        event === undefined
          ? 'an event the soak did not publish'
          : event.tenant !== spec.tenant
            ? `tenant ${event.tenant ?? '(none)'} delivered to a client of tenant ${spec.tenant ?? '(none)'}`
            : event.channel !== channel
              ? `published on ${event.channel}, delivered as ${channel}`
              : !subscribed.has(channel)
                ? `channel ${channel} is not subscribed`
                : undefined;
      if (reason !== undefined) {
        result.unexpected += 1;
        if (result.unexpectedSamples.length < MAX_SAMPLES) {
          result.unexpectedSamples.push(sample(spec, event, id, channel, reason));
        }
        continue;
      }
      const pair = `${id}#${channel}`;
      if (seen.has(pair)) {
        result.duplicated += 1;
        if (result.duplicateSamples.length < MAX_SAMPLES) {
          result.duplicateSamples.push(
            sample(spec, event, id, channel, 'same id and channel received again'),
          );
        }
        continue;
      }
      seen.add(pair);
      latencies.push((times[i] as number) - (event as SoakEvent).acceptedAt);
    }
    for (const channel of spec.channels) {
      for (const event of byAudience.get(`${spec.tenant ?? ''}#${channel}`) ?? []) {
        result.expected += 1;
        if (seen.has(`${event.id}#${channel}`)) {
          result.delivered += 1;
          continue;
        }
        result.lost += 1;
        if (result.lostSamples.length < MAX_SAMPLES) {
          result.lostSamples.push(sample(spec, event, event.id, channel, `never received (${state})`));
        }
      }
    }
  }
  return { clients: receipts.length, ...result, latencies: Float64Array.from(latencies) };
}
