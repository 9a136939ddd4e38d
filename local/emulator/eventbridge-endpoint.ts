/**
 * A local EventBridge `PutEvents` endpoint (JSON 1.1 wire format, `X-Amz-Target:
 * AWSEvents.PutEvents`), so the real `@aws-sdk/client-eventbridge` publishes to it with only
 * `endpoint` set. Accepted entries that match Switchboard's rule (`switchboardEventPattern`, the
 * same pattern the CDK stack deploys) go to the rule's target, the publish queue, as the event
 * JSON an EventBridge SQS target sends. EventBridge retries only a failed delivery to the target
 * ("Event retry policy and using dead-letter queues"); an in-memory queue never refuses one, and
 * what the publish function does with the event is the queue's business from there on.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type EventPattern,
  matchesEventPattern,
  switchboardEventPattern,
} from '../../adapters/event-pattern.js';
import { pathOf, type RequestHandler, readBody, send } from '../http-io.js';
import { type LocalLog, silentLog } from '../log.js';
import { uuid } from './aws-ids.js';
import { type EventEnvelope, putEvents } from './put-events.js';

/** The rule's target: the publish queue's `SendMessage`. */
export interface EventTarget {
  send(body: string): void;
}

export interface EventBridgeEndpointProps {
  /** The rule's target. */
  readonly target: EventTarget;
  /** The bus Switchboard's rule is on (the local stack passes `SWITCHBOARD_EVENT_BUS_NAME`, or the settings table's default). */
  readonly busName: string;
  /**
   * The rule's pattern: `switchboardEventPattern` of the accepted sources and their tenant
   * bindings (`SWITCHBOARD_EVENT_SOURCES`, `SWITCHBOARD_SOURCE_TENANTS`), as the stack deploys it.
   * @default switchboardEventPattern(): any source
   */
  readonly pattern?: EventPattern;
  /** @default 'local' */
  readonly region?: string;
  /** @default '000000000000' */
  readonly account?: string;
  /** Told about every accepted entry and how its delivery ends (the local dashboard's feed). @default none */
  readonly observer?: EventBusObserver;
  /** @default silent */
  readonly log?: LocalLog;
}

/** Sees what the bus does with each accepted entry; see `LocalActivity`. */
export interface EventBusObserver {
  accepted(envelope: EventEnvelope, status: 'not_matched' | 'other_bus' | 'publishing'): void;
}

const JSON_11 = 'application/x-amz-json-1.1';
/** Generous bound on the raw request (the 256 KB limit applies to entry sizes, checked later). */
const MAX_REQUEST_BYTES = 4 * 1024 * 1024;

/** The local event bus: an HTTP handler that routes accepted entries to the rule's target. */
export class EventBridgeEndpoint {
  readonly handle: RequestHandler;
  private readonly props: EventBridgeEndpointProps;
  private readonly log: LocalLog;
  private readonly pattern: EventPattern;
  private closed = false;

  constructor(props: EventBridgeEndpointProps) {
    this.props = props;
    this.pattern = props.pattern ?? switchboardEventPattern();
    this.log = props.log ?? silentLog;
    this.handle = (req, res) => this.serve(req, res);
  }

  /** Stops routing events. Idempotent. */
  close(): void {
    this.closed = true;
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const target = req.headers['x-amz-target'];
    // Other services' JSON APIs (the local SQS endpoint) share the port: leave them their requests.
    if (req.method !== 'POST' || pathOf(req.url) !== '/' || typeof target !== 'string') return false;
    if (!target.startsWith('AWSEvents.')) return false;
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
      busName: this.props.busName,
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
      this.log.debug(
        `event ${envelope.id} matches no rule (no channel/channels/broadcast in detail, or a source or tenant the rule does not accept)`,
      );
      return;
    }
    const ruleBus = this.props.busName;
    if (busName !== ruleBus) {
      observer?.accepted(envelope, 'other_bus');
      this.log.warn(
        `event ${envelope.id} was put on bus "${busName}"; Switchboard's rule is on "${ruleBus}"`,
      );
      return;
    }
    if (this.closed) return;
    observer?.accepted(envelope, 'publishing');
    this.props.target.send(JSON.stringify(envelope));
  }
}
