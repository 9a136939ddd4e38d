/**
 * Wildcard subscriptions in the client (PROTOCOL §8). A pattern (`apps:*`) is subscribed like a
 * channel, under its own name; its events arrive under their concrete channels (`apps:created`),
 * each with that channel's own `seq`. So a pattern keeps one ordering state per concrete channel
 * (`seq` order, duplicates dropped by id), created with that channel's first event, and shares the
 * pattern's handlers. A pattern cannot be resumed with `since` (the server refuses it): after a
 * reconnection it starts again from live events, and a missing `seq` cannot be asked for, so it is
 * stepped over after `gapTimeoutMs` with an `unconfirmed` gap.
 */
import { type ChannelEntry, createChannelEntry } from './channel-entry.js';

/**
 * The most concrete channels one pattern keeps ordering state for: a wide pattern (`metrics.*`)
 * may see any number of channels, and the least recently active beyond this are forgotten (their
 * next event starts them over, as a first one).
 */
export const MAX_CHANNELS_PER_PATTERN = 1000;

/** True for a wildcard pattern: the server allows `*` only as its last character. */
export function isPattern(name: string): boolean {
  return name.endsWith('*');
}

/** The patterns that match `channel`, one per `:` and `.` of its name: `a:*`, `a:b.*` for `a:b.c`. */
export function patternsMatching(channel: string): string[] {
  const patterns: string[] = [];
  for (let i = 0; i < channel.length; i++) {
    if (channel[i] === ':' || channel[i] === '.') patterns.push(`${channel.slice(0, i + 1)}*`);
  }
  return patterns;
}

/**
 * The ordering state of `channel` under `pattern`, created on its first event; `evict` is told
 * about the least recently active one when there are too many.
 */
export function patternChannel(
  pattern: ChannelEntry,
  channel: string,
  dedupeWindow: number,
  evict: (entry: ChannelEntry) => void,
): ChannelEntry {
  const channels = pattern.channels ?? new Map<string, ChannelEntry>();
  pattern.channels = channels;
  let entry = channels.get(channel);
  if (entry === undefined) {
    entry = {
      ...createChannelEntry(channel, dedupeWindow),
      // The pattern's handlers, shared: a handler added to the pattern later receives these too.
      listeners: pattern.listeners,
      gapListeners: pattern.gapListeners,
      pattern,
    };
    if (channels.size >= MAX_CHANNELS_PER_PATTERN) {
      const [idle] = [...channels.values()].filter((e) => e.sequence.heldCount === 0);
      const oldest = idle ?? channels.values().next().value;
      if (oldest !== undefined) evict(oldest);
    }
  } else {
    // Least recently active first, for eviction.
    channels.delete(channel);
  }
  channels.set(channel, entry);
  return entry;
}
