/**
 * Wildcard subscriptions (PROTOCOL §8): a pattern is channel characters ending in `:*` or `.*`,
 * and matches every channel that starts with the part before the `*` (its prefix). Publish finds a
 * channel's pattern subscribers from the channel's name alone: each prefix that ends at a `:` or a
 * `.` of the name is one place to look (one Query, `adapters/dynamo-store.ts`), so no table of
 * patterns is ever scanned.
 */

/**
 * The pattern grammar: 0 to 126 channel characters, a `:` or `.`, then `*`, so at most 128
 * characters, the channel limit. Only one `*`, and only at the end.
 */
export const WILDCARD_PATTERN = /^[A-Za-z0-9_.:@-]{0,126}[:.]\*$/;

/** True for a name that is a wildcard pattern rather than a channel (`*` never occurs in a channel). */
export function isWildcard(name: string): boolean {
  return name.endsWith('*');
}

/** The part a channel must start with to match `pattern`: the pattern less its `*`. */
export function wildcardPrefix(pattern: string): string {
  return pattern.slice(0, -1);
}

/** True when `channel` matches `pattern` (a valid pattern). */
export function matchesWildcard(pattern: string, channel: string): boolean {
  return channel.startsWith(wildcardPrefix(pattern));
}

/**
 * The prefixes of `channel` that a pattern matching it can have, shortest first: the name up to
 * and including each `:` and `.`. `a:b.c` has two, `a:` and `a:b.`; `news` has none.
 */
export function wildcardPrefixes(channel: string): string[] {
  const prefixes: string[] = [];
  for (let i = 0; i < channel.length; i++) {
    if (channel[i] === ':' || channel[i] === '.') prefixes.push(channel.slice(0, i + 1));
  }
  return prefixes;
}
