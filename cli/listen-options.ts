/**
 * `npm run listen`'s flags checked before anything connects (cli/listen.ts), and the one escape its
 * `--pretty` lines need. Pure functions: every refusal is a sentence naming the flag and the value,
 * which the command prints with its usage (exit code 2).
 */
import { CHANNEL_PATTERN } from '../core/protocol.js';

/** The identity a locally minted token gets without `--sub`. */
export const DEFAULT_LISTEN_SUB = 'listen-cli';

/**
 * The token verifier's claim limits (adapters/token-verifier.ts, `claimsSchema`): a minted token
 * outside them would be refused at the handshake with a bare 401, so they are checked up front.
 */
const MAX_SUB_LENGTH = 256;
const MAX_ROLES = 50;
const MAX_ROLE_LENGTH = 64;

/** A pattern (PROTOCOL §8): its last character is `*`, directly after `:` or `.`. */
const PATTERN = /^[A-Za-z0-9_.:@-]{0,127}[:.]\*$/;
/** A plain decimal seq: no sign, exponent, hex prefix or blank. */
const DECIMAL = /^[0-9]+$/;

export class ListenOptionsError extends Error {
  override readonly name = 'ListenOptionsError';
}

export interface ListenFlags {
  readonly channel?: readonly string[];
  readonly since?: string;
  readonly sub?: string;
  readonly roles?: string;
  readonly tenant?: string;
}

export interface ListenIdentityOptions {
  readonly channels: readonly string[];
  readonly since?: number;
  /** Absent when a token is given: its own claims say who it is. */
  readonly identity?: { readonly userId: string; readonly roles: string[]; readonly tenant?: string };
}

/**
 * Checks the channel, `--since` and identity flags. `tokenSource` names where a given token came
 * from (`--token` or `SWITCHBOARD_TOKEN`); then `--sub`/`--roles`/`--tenant` would be ignored, so
 * they are refused. Throws `ListenOptionsError`.
 */
export function checkListenFlags(flags: ListenFlags, tokenSource?: string): ListenIdentityOptions {
  // A channel named twice would be delivered twice (one handler per `subscribe`).
  const channels = [...new Set(flags.channel ?? [])];
  if (channels.length === 0) throw new ListenOptionsError('--channel is required');
  const bad = channels.find((c) => !CHANNEL_PATTERN.test(c) && !PATTERN.test(c));
  if (bad !== undefined) {
    throw new ListenOptionsError(`channel "${bad}" must match [A-Za-z0-9_.:@-]{1,128} (or end in :* or .*)`);
  }
  const since = parseSince(flags.since);
  const pattern = channels.find((c) => PATTERN.test(c));
  if (since !== undefined && pattern !== undefined) {
    // PROTOCOL §8: `since` cannot be combined with a pattern (the server answers invalid_request).
    throw new ListenOptionsError(`--since cannot be combined with the pattern "${pattern}"`);
  }
  const withSince = since === undefined ? {} : { since };

  const identityFlags = (['sub', 'roles', 'tenant'] as const).filter((f) => flags[f] !== undefined);
  if (tokenSource !== undefined) {
    if (identityFlags.length > 0) {
      throw new ListenOptionsError(
        `${identityFlags.map((f) => `--${f}`).join(', ')} cannot be combined with ${tokenSource}: the token's own claims say who it is`,
      );
    }
    return { channels, ...withSince };
  }
  return { channels, ...withSince, identity: checkIdentity(flags) };
}

function parseSince(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const since = DECIMAL.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(since)) {
    throw new ListenOptionsError(
      `--since must be a seq (a non-negative decimal integer up to ${Number.MAX_SAFE_INTEGER}), got "${value}"`,
    );
  }
  return since;
}

function checkIdentity(flags: ListenFlags): NonNullable<ListenIdentityOptions['identity']> {
  const userId = flags.sub ?? DEFAULT_LISTEN_SUB;
  if (userId.length === 0 || userId.length > MAX_SUB_LENGTH) {
    throw new ListenOptionsError(
      `--sub must be 1 to ${MAX_SUB_LENGTH} characters, got ${userId.length === 0 ? '""' : `${userId.length} characters`}`,
    );
  }
  const roles = (flags.roles ?? '')
    .split(',')
    .map((r) => r.trim())
    .filter(Boolean);
  const long = roles.find((r) => r.length > MAX_ROLE_LENGTH);
  if (long !== undefined) {
    throw new ListenOptionsError(
      `--roles: each role is at most ${MAX_ROLE_LENGTH} characters, got "${long}"`,
    );
  }
  if (roles.length > MAX_ROLES) {
    throw new ListenOptionsError(`--roles: at most ${MAX_ROLES} roles, got ${roles.length}`);
  }
  const { tenant } = flags;
  if (tenant !== undefined && !CHANNEL_PATTERN.test(tenant)) {
    throw new ListenOptionsError(`--tenant must match [A-Za-z0-9_.:@-]{1,128}, got "${tenant}"`);
  }
  return { userId, roles, ...(tenant === undefined ? {} : { tenant }) };
}

/**
 * Control characters a terminal would act on: C0 (ESC starts escape sequences, BEL rings), DEL, C1
 * (CSI 0x9b is ESC [ on some terminals), the line and paragraph separators, and the bidirectional
 * overrides and isolates that reorder what is shown.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * `text` with every control character written as a `\u00XX` escape, so a publisher's `event_type`,
 * `channel`, sender or data can never drive the terminal a `--pretty` line is printed on.
 */
export function printable(text: string): string {
  return text.replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
