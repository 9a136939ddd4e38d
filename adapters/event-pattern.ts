/**
 * The one definition of the EventBridge rule that feeds the publish Lambda. The CDK stack
 * deploys it; the local `PutEvents` endpoint applies it with `matchesEventPattern`, so an
 * entry reaches the publish handler locally exactly when it would on AWS.
 */
import type { PublisherPolicy } from '../core/publishers.js';

/**
 * EventBridge's quota on an event pattern's length ("Amazon EventBridge quotas": "Event pattern:
 * 2048 characters maximum"). The props refuse bindings whose pattern would not fit.
 */
export const MAX_EVENT_PATTERN_CHARS = 2048;

/**
 * Entries whose detail has none of `channel`, `channels`, `user`, `connection_id` and `broadcast`
 * are not Switchboard's (PROTOCOL §6).
 *
 * With `sources`, only those sources match. With `sourceTenants`, a bound source matches only with
 * a `detail.tenant` it is bound to: the pattern becomes `$or` of one branch per bound source
 * (`{source, detail.tenant}`) and one for the unbound sources (the rest of `sources`, or, without
 * `sources`, `anything-but` the bound ones). A single branch is merged into the pattern instead:
 * EventBridge reads `$or` as OR only with two branches or more (aws/event-ruler README, "$or").
 */
export function switchboardEventPattern(policy: PublisherPolicy = {}): EventPattern {
  const detail: EventPattern = {
    $or: [
      { channel: [{ exists: true }] },
      { channels: [{ exists: true }] },
      { broadcast: [{ exists: true }] },
      { user: [{ exists: true }] },
      { connection_id: [{ exists: true }] },
    ],
  };
  const bound = Object.entries(policy.sourceTenants ?? {});
  if (bound.length === 0) {
    return policy.sources && policy.sources.length > 0 ? { source: [...policy.sources], detail } : { detail };
  }
  const boundSources = bound.map(([source]) => source);
  const unbound: PatternValue[] | undefined = policy.sources
    ? policy.sources.filter((source) => !boundSources.includes(source))
    : [{ 'anything-but': boundSources }];
  const branches: EventPattern[] = [
    ...(unbound.length > 0 ? [{ source: unbound }] : []),
    ...bound.map(([source, tenants]) => ({ source: [source], detail: { tenant: [...tenants] } })),
  ];
  if (branches.length === 1) {
    const only = branches[0] as { source: PatternValue[]; detail?: EventPattern };
    return { source: only.source, detail: { ...detail, ...only.detail } };
  }
  return { detail, $or: branches };
}

export type EventPattern = { [key: string]: EventPattern | PatternValue[] | EventPattern[] };
type PatternValue =
  | string
  | number
  | boolean
  | null
  | { exists: boolean }
  | { prefix: string }
  | { 'anything-but': readonly (string | number)[] };

/**
 * A small, faithful subset of EventBridge pattern matching: literal values, `exists`, `prefix`,
 * `anything-but` (a list of values) and `$or`. A pattern field matching an array value matches if
 * any element matches, as on AWS.
 */
export function matchesEventPattern(pattern: EventPattern, event: unknown): boolean {
  if (typeof event !== 'object' || event === null) return false;
  const record = event as Record<string, unknown>;
  return Object.entries(pattern).every(([key, rule]) => {
    if (key === '$or') return (rule as EventPattern[]).some((alt) => matchesEventPattern(alt, event));
    const value = Object.hasOwn(record, key) ? record[key] : undefined;
    if (Array.isArray(rule)) return (rule as PatternValue[]).some((r) => matchesValue(r, value));
    return matchesEventPattern(rule, value);
  });
}

function matchesValue(rule: PatternValue, value: unknown): boolean {
  const values = Array.isArray(value) ? value : [value];
  if (rule !== null && typeof rule === 'object') {
    if ('exists' in rule) return rule.exists === (value !== undefined);
    if (value === undefined) return false;
    if ('anything-but' in rule) {
      const excluded: readonly unknown[] = rule['anything-but'];
      return values.some((v) => (typeof v === 'string' || typeof v === 'number') && !excluded.includes(v));
    }
    return values.some((v) => typeof v === 'string' && v.startsWith(rule.prefix));
  }
  return values.some((v) => v === rule);
}
