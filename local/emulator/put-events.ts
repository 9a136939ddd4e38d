/**
 * EventBridge `PutEvents` semantics, as a pure function of the request body: the request-level
 * validation (400 `ValidationException`), the per-entry results (`ErrorCode` / `ErrorMessage` in
 * the entry's slot, counted in `FailedEntryCount`), and the event envelope a rule target receives.
 */
import { eventTime } from './aws-ids.js';

/** The envelope EventBridge hands to a target (the publish Lambda). */
export interface EventEnvelope {
  readonly version: '0';
  readonly id: string;
  readonly 'detail-type': string;
  readonly source: string;
  readonly account: string;
  readonly time: string;
  readonly region: string;
  readonly resources: readonly string[];
  readonly detail: Record<string, unknown>;
}

export interface PutEventsResultEntry {
  readonly EventId?: string;
  readonly ErrorCode?: string;
  readonly ErrorMessage?: string;
}

export interface PutEventsOptions {
  /** The bus Switchboard's rule is on. */
  readonly busName: string;
  readonly account: string;
  readonly region: string;
  /** @default new Date() */
  readonly now?: Date;
  readonly newId: () => string;
}

/** An accepted entry: its envelope and the bus it was put on. */
export interface AcceptedEvent {
  readonly envelope: EventEnvelope;
  readonly busName: string;
}

export type PutEventsOutcome =
  | { readonly ok: false; readonly error: { readonly __type: string; readonly message: string } }
  | {
      readonly ok: true;
      readonly response: {
        readonly FailedEntryCount: number;
        readonly Entries: readonly PutEventsResultEntry[];
      };
      readonly accepted: readonly AcceptedEvent[];
    };

/** PutEvents' limit on the summed entry sizes of one request. */
export const MAX_REQUEST_ENTRY_BYTES = 256 * 1024;
export const MAX_ENTRIES = 10;
/**
 * "PutEvents will only process nested JSON up to 1000 levels deep" (PutEvents API reference;
 * older revisions said 1100). A deeper `Detail` is refused in its own slot. Without this bound a
 * 20,000-deep array got through, and every later `JSON.stringify` of it overflowed the stack.
 */
export const MAX_DETAIL_DEPTH = 1000;

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

/** An entry's size as EventBridge counts it (see "Calculating PutEvents event entry size"). */
export function entrySize(entry: Record<string, unknown>): number {
  let size = entry.Time === undefined ? 0 : 14;
  for (const field of ['Source', 'DetailType', 'Detail'] as const) {
    const value = entry[field];
    if (typeof value === 'string') size += bytes(value);
  }
  if (Array.isArray(entry.Resources)) {
    for (const resource of entry.Resources) if (typeof resource === 'string') size += bytes(resource);
  }
  return size;
}

/** The bus name an `EventBusName` (name or ARN) designates; absent means the default bus. */
export function busNameOf(eventBusName: unknown): string {
  if (typeof eventBusName !== 'string' || eventBusName === '') return 'default';
  const slash = eventBusName.lastIndexOf('/');
  return eventBusName.startsWith('arn:') && slash !== -1 ? eventBusName.slice(slash + 1) : eventBusName;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * How deeply a valid JSON text nests objects and arrays (`{}` is 1), counted on the text with a
 * loop: a recursive walk would itself overflow on the inputs this guards against.
 */
export function jsonDepth(json: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const c = json[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
    } else if (c === '{' || c === '[') {
      depth++;
      if (depth > deepest) deepest = depth;
    } else if (c === '}' || c === ']') {
      depth--;
    }
  }
  return deepest;
}

function invalid(message: string) {
  return { ok: false as const, error: { __type: 'ValidationException', message } };
}

function missing(field: string): PutEventsResultEntry {
  return {
    ErrorCode: 'InvalidArgument',
    ErrorMessage: `Parameter ${field} is not valid. Reason: ${field} is a required argument.`,
  };
}

/** `Time` arrives as epoch seconds on the JSON 1.1 wire; strings are accepted for hand-written calls. */
function timeOf(value: unknown, now: Date): Date | undefined {
  if (value === undefined) return now;
  const date = typeof value === 'number' ? new Date(value * 1000) : new Date(String(value));
  return Number.isNaN(date.getTime()) ? undefined : date;
}

function checkEntry(
  entry: unknown,
  options: PutEventsOptions,
  now: Date,
): { result: PutEventsResultEntry; accepted?: AcceptedEvent } {
  if (!isObject(entry)) return { result: missing('Source') };
  const { Source, DetailType, Detail, Resources } = entry;
  if (typeof Source !== 'string' || Source === '') return { result: missing('Source') };
  if (typeof DetailType !== 'string' || DetailType === '') return { result: missing('DetailType') };
  if (typeof Detail !== 'string' || Detail === '') return { result: missing('Detail') };
  if (Source.startsWith('aws.')) {
    return {
      result: {
        ErrorCode: 'NotAuthorizedForSourceException',
        ErrorMessage: 'Not authorized for the source.',
      },
    };
  }
  let detail: unknown;
  try {
    detail = JSON.parse(Detail);
  } catch {
    detail = undefined;
  }
  // EventBridge does not document the code it answers for a too-deep Detail; MalformedDetail is
  // its code for a Detail it cannot take.
  if (!isObject(detail) || jsonDepth(Detail) > MAX_DETAIL_DEPTH)
    return { result: { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' } };
  const busName = busNameOf(entry.EventBusName);
  if (busName !== 'default' && busName !== options.busName) {
    return {
      result: {
        ErrorCode: 'ResourceNotFoundException',
        ErrorMessage: `Event bus ${busName} does not exist.`,
      },
    };
  }
  const time = timeOf(entry.Time, now);
  if (!time)
    return { result: { ErrorCode: 'InvalidArgument', ErrorMessage: 'Parameter Time is not valid.' } };
  const id = options.newId();
  const envelope: EventEnvelope = {
    version: '0',
    id,
    'detail-type': DetailType,
    source: Source,
    account: options.account,
    time: eventTime(time),
    region: options.region,
    resources: Array.isArray(Resources) ? Resources.filter((r): r is string => typeof r === 'string') : [],
    detail,
  };
  return { result: { EventId: id }, accepted: { envelope, busName } };
}

/** Applies `PutEvents` to a parsed request body. */
export function putEvents(body: unknown, options: PutEventsOptions): PutEventsOutcome {
  if (!isObject(body) || !Array.isArray(body.Entries)) {
    return invalid(
      "1 validation error detected: Value null at 'entries' failed to satisfy constraint: Member must not be null",
    );
  }
  const entries: unknown[] = body.Entries;
  if (entries.length < 1 || entries.length > MAX_ENTRIES) {
    const bound = entries.length < 1 ? 'greater than or equal to 1' : `less than or equal to ${MAX_ENTRIES}`;
    return invalid(
      `1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length ${bound}`,
    );
  }
  const total = entries.reduce<number>((sum, entry) => sum + (isObject(entry) ? entrySize(entry) : 0), 0);
  if (total > MAX_REQUEST_ENTRY_BYTES) {
    return invalid('Total size of the entries in the request is over the limit.');
  }
  const now = options.now ?? new Date();
  const results: PutEventsResultEntry[] = [];
  const accepted: AcceptedEvent[] = [];
  for (const entry of entries) {
    const checked = checkEntry(entry, options, now);
    results.push(checked.result);
    if (checked.accepted) accepted.push(checked.accepted);
  }
  return {
    ok: true,
    response: { FailedEntryCount: entries.length - accepted.length, Entries: results },
    accepted,
  };
}
