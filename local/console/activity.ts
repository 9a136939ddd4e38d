/**
 * What the local dashboard shows about events: the last entries `PutEvents` accepted, what the
 * rule did with each, and how many `event` frames the publish function posted to `@connections`
 * for it. Local only: on AWS the same facts live in CloudWatch (the publish function's metrics and
 * logs). Bounded, so a long-running `npm start` does not grow.
 */
import { publishDetailSchema } from '../../core/publish.js';
import type { EventEnvelope } from '../emulator/put-events.js';

/** What became of an accepted entry. */
export type EventStatus =
  /** Its detail has no `channel`/`channels`: not Switchboard's, the rule does not match it. */
  | 'not_matched'
  /** Put on another bus than the one Switchboard's rule listens on. */
  | 'other_bus'
  /** Matched by the rule, but its detail breaks PROTOCOL §6: the publish function drops it. */
  | 'ignored'
  /** Handed to the publish function (retries included). */
  | 'publishing'
  | 'published'
  /** Every attempt failed: it went to the dead-letter queue. */
  | 'failed';

export interface RecordedEvent {
  /** The EventBridge event id: the `id` clients receive. */
  readonly id: string;
  readonly receivedAt: number;
  readonly source: string;
  readonly detailType: string;
  readonly eventType: string;
  readonly channels: readonly string[];
  readonly tenant: string | undefined;
  /** `detail.data` as JSON, cut to `PREVIEW_CHARS`. */
  readonly dataPreview: string;
  status: EventStatus;
  /** `event` frames for this id that `@connections` accepted (one per connection and channel). */
  deliveries: number;
  /** `event` frames refused with 410 Gone (the connection had gone). */
  gone: number;
}

/** How many events the dashboard remembers. */
export const MAX_RECORDED_EVENTS = 100;
const PREVIEW_CHARS = 300;
/** Frames larger than this are not parsed to count deliveries (events are at most 128 KB). */
const MAX_PARSED_FRAME_BYTES = 256 * 1024;

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * `data` as JSON, cut short. Never throws: this runs while the bus routes a batch, so a value
 * `JSON.stringify` cannot write (nested too deeply: RangeError) must cost its preview only, not
 * the delivery of the entries after it.
 */
function preview(data: unknown): string {
  if (data === undefined) return '';
  let json: string;
  try {
    json = JSON.stringify(data) ?? '';
  } catch {
    return '(cannot be shown)';
  }
  return json.length > PREVIEW_CHARS ? `${json.slice(0, PREVIEW_CHARS - 1)}…` : json;
}

/**
 * The channels an entry reaches, as clients see them (PROTOCOL §6): its `channel` or `channels`,
 * `user:{id}` for `Detail.user`, `connection:{id}` for `Detail.connection_id`, and `broadcast`.
 */
function addressedChannels(detail: EventEnvelope['detail']): string[] {
  const named = Array.isArray(detail.channels) ? detail.channels : [detail.channel];
  const user = text(detail.user);
  const connectionId = text(detail.connection_id);
  const channels = [
    ...named.filter((c): c is string => typeof c === 'string' && c !== ''),
    ...(user !== undefined ? [`user:${user}`] : []),
    ...(connectionId !== undefined ? [`connection:${connectionId}`] : []),
    ...(detail.broadcast === true ? ['broadcast'] : []),
  ];
  return [...new Set(channels)];
}

/** The recent events and their deliveries; `onChange` listeners hear about every update. */
export class LocalActivity {
  private readonly events = new Map<string, RecordedEvent>();
  private readonly listeners = new Set<() => void>();
  private total = 0;

  /** Events, newest first. */
  recent(): readonly RecordedEvent[] {
    return [...this.events.values()].reverse();
  }

  /** Entries accepted since the stack started (including those no longer remembered). */
  get totalEvents(): number {
    return this.total;
  }

  /** Calls `listener` after every change, until the returned function is called. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** An entry `PutEvents` accepted, and what the rule did with it. */
  accepted(envelope: EventEnvelope, status: EventStatus): void {
    const { detail } = envelope;
    const channels = addressedChannels(detail);
    this.events.set(envelope.id, {
      id: envelope.id,
      receivedAt: Date.now(),
      source: envelope.source,
      detailType: envelope['detail-type'],
      eventType: text(detail.event_type) ?? envelope['detail-type'],
      channels,
      tenant: text(detail.tenant),
      dataPreview: preview(detail.data),
      // What the publish function will do with it: a malformed detail is logged and dropped.
      status: status === 'publishing' && !publishDetailSchema.safeParse(detail).success ? 'ignored' : status,
      deliveries: 0,
      gone: 0,
    });
    this.total += 1;
    while (this.events.size > MAX_RECORDED_EVENTS) {
      const oldest = this.events.keys().next().value;
      if (oldest === undefined) break;
      this.events.delete(oldest);
    }
    this.changed();
  }

  /** The publish function finished with an event: `published`, or `failed` after its retries. */
  settled(eventId: string, status: 'published' | 'failed'): void {
    const event = this.events.get(eventId);
    if (!event || event.status === 'ignored') return;
    event.status = status;
    this.changed();
  }

  /** A `POST @connections/{id}`: counted when it carries an `event` frame of a remembered event. */
  posted(body: Buffer, delivered: boolean): void {
    // Cheap test first: most frames are not events of remembered ids.
    if (this.events.size === 0 || body.length > MAX_PARSED_FRAME_BYTES || !body.includes('"event"')) return;
    let frame: unknown;
    try {
      frame = JSON.parse(body.toString('utf8'));
    } catch {
      return;
    }
    if (typeof frame !== 'object' || frame === null) return;
    const { type, id } = frame as { type?: unknown; id?: unknown };
    if (type !== 'event' || typeof id !== 'string') return;
    const event = this.events.get(id);
    if (!event) return;
    if (delivered) event.deliveries += 1;
    else event.gone += 1;
    this.changed();
  }

  /** Something else the dashboard shows changed (a connection, a subscription). */
  changed(): void {
    for (const listener of [...this.listeners]) listener();
  }
}
