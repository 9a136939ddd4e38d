/**
 * The one definition of the EventBridge rule that feeds the publish Lambda. The CDK stack
 * deploys it; the local `PutEvents` endpoint applies it with `matchesEventPattern`, so an
 * entry reaches the publish handler locally exactly when it would on AWS.
 */

/**
 * Entries whose detail has none of `channel`, `channels`, `user`, `connection_id` and `broadcast`
 * are not Switchboard's (PROTOCOL §6).
 */
export function switchboardEventPattern(options: { sources?: readonly string[] } = {}): EventPattern {
  const pattern: EventPattern = {
    detail: {
      $or: [
        { channel: [{ exists: true }] },
        { channels: [{ exists: true }] },
        { broadcast: [{ exists: true }] },
        { user: [{ exists: true }] },
        { connection_id: [{ exists: true }] },
      ],
    },
  };
  if (options.sources && options.sources.length > 0) pattern.source = [...options.sources];
  return pattern;
}

export type EventPattern = { [key: string]: EventPattern | PatternValue[] | EventPattern[] };
type PatternValue = string | number | boolean | null | { exists: boolean } | { prefix: string };

/**
 * A small, faithful subset of EventBridge pattern matching: literal values, `exists`, `prefix`
 * and `$or`. A pattern field matching an array value matches if any element matches, as on AWS.
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
  if (rule !== null && typeof rule === 'object') {
    if ('exists' in rule) return rule.exists === (value !== undefined);
    if (value === undefined) return false;
    const values = Array.isArray(value) ? value : [value];
    return values.some((v) => typeof v === 'string' && v.startsWith(rule.prefix));
  }
  const values = Array.isArray(value) ? value : [value];
  return values.some((v) => v === rule);
}
