/**
 * Who may subscribe to a wildcard pattern (PROTOCOL §8): only a principal the channel policy
 * allows on EVERY channel the pattern can match, so that a pattern never reads more than exact
 * subscriptions could (`user:*` and `system:*` are for admins).
 *
 * The policy is an ordered list of rules, the first that matches a channel deciding. A pattern
 * with prefix `p` matches the set `p·s` of every channel starting with `p`. The rules are walked
 * in order, and each is compared with that set, as globs (`*` any string, `{userId}` a non-empty
 * one), by running the rule's glob as an automaton over `p`:
 * - no state survives `p`: the rule matches no channel of the set, it decides none of them;
 * - some state survives: the rule may decide some channels of the set, so it must allow the
 *   principal whatever they are (an `owner` rule: only an admin, since its `{userId}` varies);
 * - a surviving state whose rest is only `*`s: the rule matches the whole set, and decides all
 *   that earlier rules left; the walk ends, allowed.
 * Running off the end means some channels match no rule, which the policy refuses.
 *
 * The answer is sound, never more generous than the exact checks, and can be stricter: a rule
 * refusing channels that earlier rules had already decided still refuses the pattern. Fan-out
 * checks the concrete channel again anyway, as for exact subscriptions.
 */
import { allows, type ChannelRule, canSubscribe, type Principal } from './channel-policy.js';
import { isWildcard, wildcardPrefix } from './wildcards.js';

/** One step of a rule's glob: a literal character, any one character, or any string. */
type Token = { readonly kind: 'char'; readonly char: string } | { readonly kind: 'any' | 'star' };

const tokenized = new WeakMap<ChannelRule, readonly Token[]>();

function tokens(rule: ChannelRule): readonly Token[] {
  let result = tokenized.get(rule);
  if (!result) {
    result = rule.pattern.split(/(\{userId\}|\*)/).flatMap((part): Token[] => {
      if (part === '*') return [{ kind: 'star' }];
      // `{userId}` captures `.+`: one character, then any string.
      if (part === '{userId}') return [{ kind: 'any' }, { kind: 'star' }];
      return [...part].map((char) => ({ kind: 'char', char }));
    });
    tokenized.set(rule, result);
  }
  return result;
}

/** Adds the states a `*` can skip to without reading a character. */
function closure(glob: readonly Token[], states: Set<number>): Set<number> {
  for (const state of states) {
    if (glob[state]?.kind === 'star') states.add(state + 1);
  }
  return states;
}

/** The states of the rule's glob after reading `prefix` (empty: no channel of the set matches). */
function statesAfter(glob: readonly Token[], prefix: string): Set<number> {
  let states = closure(glob, new Set([0]));
  for (const char of prefix) {
    const next = new Set<number>();
    for (const state of states) {
      const token = glob[state];
      if (token === undefined) continue;
      if (token.kind === 'star') next.add(state);
      else if (token.kind === 'any' || (token.kind === 'char' && token.char === char)) next.add(state + 1);
    }
    states = closure(glob, next);
    if (states.size === 0) break;
  }
  return states;
}

/** True when, from one of `states`, the glob accepts every string (its rest is only `*`s). */
function acceptsEverything(glob: readonly Token[], states: Set<number>): boolean {
  for (const state of states) {
    const rest = glob.slice(state);
    if (rest.length > 0 && rest.every((token) => token.kind === 'star')) return true;
  }
  return false;
}

/** True when `principal` may subscribe to `pattern` (a valid wildcard pattern). */
export function canSubscribeWildcard(
  policy: readonly ChannelRule[],
  principal: Principal,
  pattern: string,
): boolean {
  const prefix = wildcardPrefix(pattern);
  for (const rule of policy) {
    const glob = tokens(rule);
    const states = statesAfter(glob, prefix);
    if (states.size === 0) continue;
    if (!allows(rule, principal, undefined)) return false;
    if (acceptsEverything(glob, states)) return true;
  }
  return false;
}

/** `canSubscribe` for a channel, `canSubscribeWildcard` for a pattern: what a subscription may name. */
export function canSubscribeTo(policy: readonly ChannelRule[], principal: Principal, name: string): boolean {
  return isWildcard(name)
    ? canSubscribeWildcard(policy, principal, name)
    : canSubscribe(policy, principal, name);
}
