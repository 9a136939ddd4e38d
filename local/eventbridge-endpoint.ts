/**
 * A local EventBridge `PutEvents` endpoint (JSON 1.1 wire format, `X-Amz-Target:
 * AWSEvents.PutEvents`), so the real `@aws-sdk/client-eventbridge` publishes to it with only
 * `endpoint` set. Accepted entries that match Switchboard's rule (`switchboardEventPattern`, the
 * same pattern the CDK stack deploys) go to the publish function as Lambda's asynchronous
 * invocation does: after the answer, retried twice on failure, then to a dead-letter queue.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { matchesEventPattern, switchboardEventPattern } from '../adapters/event-pattern.js';
import { uuid } from './aws-ids.js';
import { pathOf, type RequestHandler, readBody, send } from './http-io.js';
import type { LocalFunction } from './lambda-runtime.js';
import { type LocalLog, silentLog } from './log.js';
import { type EventEnvelope, putEvents } from './put-events.js';

export interface EventBridgeEndpointProps {
  /** The rule's target. */
  readonly publish: LocalFunction;
  /** The bus Switchboard's rule is on. @default 'default' */
  readonly busName?: string;
  /** @default 'local' */
  readonly region?: string;
  /** @default '000000000000' */
  readonly account?: string;
  /** Waits before the 2nd, 3rd, ... attempt. Lambda waits about 1 and 2 minutes; locally seconds. @default [1000, 2000] */
  readonly retryDelaysMs?: readonly number[];
  /** Told about every accepted entry and how its delivery ends (the local dashboard's feed). @default none */
  readonly observer?: EventBusObserver;
  /** @default silent */
  readonly log?: LocalLog;
}

/** Sees what the bus does with each accepted entry; see `LocalActivity`. */
export interface EventBusObserver {
  accepted(envelope: EventEnvelope, status: 'not_matched' | 'other_bus' | 'publishing'): void;
  settled(eventId: string, status: 'published' | 'failed'): void;
}

const JSON_11 = 'application/x-amz-json-1.1';
/** The emulated DLQ keeps the most recent failures only. */
const MAX_DEAD_LETTERS = 1000;
/** Generous bound on the raw request (the 256 KB limit applies to entry sizes, checked later). */
const MAX_REQUEST_BYTES = 4 * 1024 * 1024;

/** The local event bus: an HTTP handler plus the asynchronous deliveries it starts. */
export class EventBridgeEndpoint {
  /** Envelopes whose delivery failed every attempt, oldest first (the emulated DLQ). */
  readonly deadLetters: EventEnvelope[] = [];
  readonly handle: RequestHandler;
  private readonly props: EventBridgeEndpointProps;
  private readonly log: LocalLog;
  private readonly pattern = switchboardEventPattern();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly sleepers = new Set<() => void>();
  private closing: Promise<void> | undefined;

  constructor(props: EventBridgeEndpointProps) {
    this.props = props;
    this.log = props.log ?? silentLog;
    this.handle = (req, res) => this.serve(req, res);
  }

  /** Resolves once no delivery is in flight (including retries waiting for their turn). */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** Stops retrying and waits for deliveries already running. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const wake of this.sleepers) wake();
      await this.settled();
    })();
    return this.closing;
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const target = req.headers['x-amz-target'];
    if (req.method !== 'POST' || pathOf(req.url) !== '/' || target === undefined) return false;
    const { body, tooLarge } = await readBody(req, MAX_REQUEST_BYTES);
    if (target !== 'AWSEvents.PutEvents') {
      this.reply(res, 400, {
        __type: 'UnknownOperationException',
        message: `Unsupported operation ${target}`,
      });
      return true;
    }
    if (tooLarge) {
      this.reply(res, 413, { __type: 'ValidationException', message: 'Request is too large.' });
      return true;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      this.reply(res, 400, { __type: 'SerializationException', message: 'Request body is not valid JSON.' });
      return true;
    }
    const outcome = putEvents(parsed, {
      busName: this.props.busName ?? 'default',
      account: this.props.account ?? '000000000000',
      region: this.props.region ?? 'local',
      newId: uuid,
    });
    if (!outcome.ok) {
      this.reply(res, 400, outcome.error);
      return true;
    }
    this.reply(res, 200, outcome.response);
    for (const { envelope, busName } of outcome.accepted) this.route(envelope, busName);
    return true;
  }

  private reply(res: ServerResponse, status: number, value: unknown): void {
    const headers: Record<string, string> = { 'Content-Type': JSON_11, 'x-amzn-RequestId': uuid() };
    const type = (value as { __type?: unknown }).__type;
    if (typeof type === 'string') headers['x-amzn-ErrorType'] = type;
    send(res, status, JSON.stringify(value), headers);
  }

  /** Applies the rule: only events on Switchboard's bus that match its pattern reach the target. */
  private route(envelope: EventEnvelope, busName: string): void {
    const observer = this.props.observer;
    if (!matchesEventPattern(this.pattern, envelope)) {
      observer?.accepted(envelope, 'not_matched');
      this.log.debug(`event ${envelope.id} matches no rule (no channel/channels in detail)`);
      return;
    }
    const ruleBus = this.props.busName ?? 'default';
    if (busName !== ruleBus) {
      observer?.accepted(envelope, 'other_bus');
      this.log.warn(
        `event ${envelope.id} was put on bus "${busName}"; Switchboard's rule is on "${ruleBus}"`,
      );
      return;
    }
    if (this.closing) return;
    observer?.accepted(envelope, 'publishing');
    const delivery = this.deliver(envelope).finally(() => this.inFlight.delete(delivery));
    this.inFlight.add(delivery);
  }

  private async deliver(envelope: EventEnvelope): Promise<void> {
    const delays = this.props.retryDelaysMs ?? [1000, 2000];
    // Let the PutEvents answer go out first, as an asynchronous invocation would.
    await new Promise((resolve) => setImmediate(resolve));
    for (let attempt = 1; ; attempt++) {
      try {
        await this.props.publish.invoke(envelope);
        this.log.debug(`event ${envelope.id} delivered (attempt ${attempt})`);
        this.props.observer?.settled(envelope.id, 'published');
        return;
      } catch (error) {
        const delay = delays[attempt - 1];
        if (delay === undefined || this.closing) {
          this.deadLetter(envelope);
          this.log.error(
            `event ${envelope.id} sent to the dead-letter queue after ${attempt} attempt(s)`,
            error,
          );
          return;
        }
        this.log.warn(`publish of event ${envelope.id} failed (attempt ${attempt}); retrying in ${delay} ms`);
        await this.sleep(delay);
        if (this.closing) {
          this.deadLetter(envelope);
          this.log.warn(`event ${envelope.id} abandoned at shutdown before its retry`);
          return;
        }
      }
    }
  }

  private deadLetter(envelope: EventEnvelope): void {
    this.props.observer?.settled(envelope.id, 'failed');
    this.deadLetters.push(envelope);
    if (this.deadLetters.length > MAX_DEAD_LETTERS) this.deadLetters.shift();
  }

  /** A wait that `close()` cuts short. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.sleepers.add(wake);
    });
  }
}
