/**
 * Who is in a presence channel, as an immutable snapshot that changes only when someone joins or
 * leaves: the store behind `usePresence` (`react.ts`), free of React like `channel-feed.ts`.
 *
 * Only subscribers may ask `presence` (PROTOCOL §8), so the feed subscribes to the channel while
 * someone listens (the SDK counts subscriptions: the channel stays subscribed on the wire while any
 * handler holds it). It asks once the subscription is confirmed and again after every
 * reconnection, since notices sent meanwhile are gone; in between, `presence_join` and
 * `presence_leave` keep it current.
 */
import type { SwitchboardError } from './errors.js';
import { type ExternalStore, externalStore } from './external-store.js';
import type { Client } from './types.js';

export interface PresenceFeedSnapshot {
  /** The members' user ids, sorted; at most the server's 1,000 (see `truncated`). */
  readonly members: readonly string[];
  /** Every member of the channel, also those beyond `members`. */
  readonly count: number;
  readonly truncated: boolean;
  /** True once the server answered `presence` at least once. */
  readonly known: boolean;
  /** Why presence is unknown: the subscription or the `presence` request was refused. */
  readonly error: SwitchboardError | undefined;
}

/** The first listener subscribes to the channel and asks who is here; the last one unsubscribes. */
export type PresenceFeed = ExternalStore<PresenceFeedSnapshot>;

export function createPresenceFeed(client: Client, channel: string): PresenceFeed {
  const initial: PresenceFeedSnapshot = {
    members: [],
    count: 0,
    truncated: false,
    known: false,
    error: undefined,
  };
  return externalStore(initial, (update, snapshot) => {
    let active = true;
    let asked = 0;
    const ask = () => {
      const request = ++asked;
      client.presence(channel).then(
        ({ members, count, truncated }) => {
          // A later answer wins: an earlier one may predate notices already applied.
          if (!active || request !== asked) return;
          update({
            members: members.map((m) => m.userId).sort(),
            count,
            truncated,
            known: true,
            error: undefined,
          });
        },
        (error: SwitchboardError) => active && request === asked && update({ error }),
      );
    };
    const changed = (userId: string, joined: boolean) => {
      const has = snapshot().members.includes(userId);
      if (joined === has) return;
      const members = joined
        ? [...snapshot().members, userId].sort()
        : snapshot().members.filter((member) => member !== userId);
      update({ members, count: Math.max(0, snapshot().count + (joined ? 1 : -1)) });
    };
    const offs = [
      client.on('presence_join', (notice) => notice.channel === channel && changed(notice.user.userId, true)),
      client.on(
        'presence_leave',
        (notice) => notice.channel === channel && changed(notice.user.userId, false),
      ),
      client.on('open', ({ reconnected }) => reconnected && snapshot().known && ask()),
    ];
    const subscription = client.subscribe(channel, () => {});
    subscription.then(
      () => active && ask(),
      (error: SwitchboardError) => active && update({ error }),
    );
    return () => {
      active = false;
      for (const off of offs) off();
      void subscription.unsubscribe();
    };
  });
}
