/**
 * Properties of `parseClientMessage`, the single entry for untrusted client frames (PROTOCOL §3):
 * whatever the input, it returns a valid message or throws a `ProtocolError('invalid_request')`;
 * it accepts a channel only if it matches the grammar; the `id` it echoes is at most 64 characters;
 * and no `__proto__` key reaches a prototype. Pure: no network.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CLIENT_ACTIONS,
  type ClientMessage,
  errorMessage,
  MAX_CLIENT_ID_LENGTH,
  ProtocolError,
  parseClientMessage,
} from '../../core/protocol.js';

/** The grammar as PROTOCOL §5 states it, written out here rather than imported. */
const GRAMMAR = /^[A-Za-z0-9_.:@-]{1,128}$/;
/** PROTOCOL §8: for `subscribe` and `unsubscribe`, also a pattern ending in `*` right after `:` or `.`. */
const PATTERN = /^[A-Za-z0-9_.:@-]{0,126}[:.]\*$/;
const GRAMMAR_CHARS = [...'ABCXYZabcxyz0189_.:@-'];
const HOSTILE_CHARS = [
  '#',
  '%',
  ' ',
  '*',
  '/',
  '\\',
  '"',
  "'",
  '\u0000',
  '\r',
  '\n',
  '\t',
  'é',
  'а' /* Cyrillic a */,
  'ａ' /* full-width a */,
  '\u200b',
  '\ud800' /* lone high surrogate */,
  '\udc00' /* lone low surrogate */,
  '😀',
];
const KNOWN_FIELDS = new Set(['action', 'id', 'channel', 'since', 'token']);

type Outcome = { ok: true; message: ClientMessage } | { ok: false; error: ProtocolError };

/** Parses and classifies; anything thrown that is not a ProtocolError escapes and fails the property. */
function outcome(raw: string, maxBytes?: number): Outcome {
  try {
    return { ok: true, message: parseClientMessage(raw, maxBytes) };
  } catch (error) {
    if (error instanceof ProtocolError) return { ok: false, error };
    throw error;
  }
}

/** Channel candidates: valid names, near misses with one hostile character, and anything at all. */
const channelCandidate = fc.oneof(
  fc.string({ unit: fc.constantFrom(...GRAMMAR_CHARS), minLength: 0, maxLength: 140 }),
  // Pattern-shaped: grammar characters and a `*` at the end (valid or not, by what precedes it).
  fc.string({ unit: fc.constantFrom(...GRAMMAR_CHARS), minLength: 0, maxLength: 130 }).map((s) => `${s}*`),
  fc.string({ unit: fc.constantFrom(...GRAMMAR_CHARS, ...HOSTILE_CHARS), minLength: 0, maxLength: 130 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
);

/** Values of any JSON type, biased towards the ones a field might be confused with. */
const anyField = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 80 }),
  fc.constantFrom(...CLIENT_ACTIONS, 'SUBSCRIBE', '__proto__', 'constructor', '', 'toString'),
  fc.jsonValue({ maxDepth: 3 }),
);

/** Objects shaped like client messages, every field optional and of any type. */
const messageLike = fc.record(
  {
    action: anyField,
    type: anyField,
    channel: fc.oneof(channelCandidate, fc.jsonValue({ maxDepth: 2 })),
    id: fc.oneof(fc.string({ unit: 'binary', maxLength: 90 }), fc.jsonValue({ maxDepth: 2 })),
    since: fc.oneof(fc.integer(), fc.double(), fc.jsonValue({ maxDepth: 1 })),
    token: anyField,
    extra: fc.jsonValue({ maxDepth: 2 }),
  },
  { requiredKeys: [] },
);

function expectRefusal(result: Outcome): void {
  if (result.ok) return;
  expect(result.error.code).toBe('invalid_request');
  expect(result.error.message).toEqual(expect.any(String));
}

describe('parseClientMessage never throws anything but a ProtocolError', () => {
  it('for arbitrary strings, including lone surrogates and control characters', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (raw) => expectRefusal(outcome(raw))),
      { numRuns: 2000 },
    );
  });

  it('for arbitrary JSON values', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const result = outcome(JSON.stringify(value) ?? 'null');
        expectRefusal(result);
        // Only a JSON object can be a message.
        if (typeof value !== 'object' || value === null || Array.isArray(value))
          expect(result.ok).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });

  it('for message-shaped objects with fields of any type', () => {
    fc.assert(
      fc.property(messageLike, (value) => {
        const result = outcome(JSON.stringify(value));
        expectRefusal(result);
        if (!result.ok) return;
        // What it accepts is a valid message, and nothing else passes through.
        expect(CLIENT_ACTIONS).toContain(result.message.action);
        for (const key of Object.keys(result.message)) expect(KNOWN_FIELDS).toContain(key);
        if ('channel' in result.message) {
          const { action, channel } = result.message as { action: string; channel: string };
          const patternAllowed = action === 'subscribe' || action === 'unsubscribe';
          expect(GRAMMAR.test(channel) || (patternAllowed && PATTERN.test(channel))).toBe(true);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('for anything over the byte limit, refused as invalid_request before parsing', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 400 }),
        fc.integer({ min: 0, max: 300 }),
        (raw, max) => {
          const result = outcome(raw, max);
          expectRefusal(result);
          if (Buffer.byteLength(raw, 'utf8') > max) {
            expect(result.ok).toBe(false);
            if (!result.ok) expect(result.error.message).toMatch(/bytes; the limit is/);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('channels', () => {
  it.each(['subscribe', 'unsubscribe'])(
    '%s accepts a channel or a pattern exactly when it matches the grammar',
    (action) => {
      fc.assert(
        fc.property(channelCandidate, (channel) => {
          const result = outcome(JSON.stringify({ action, channel }));
          expectRefusal(result);
          expect(result.ok).toBe(GRAMMAR.test(channel) || PATTERN.test(channel));
          if (result.ok) expect(result.message).toEqual({ action, channel });
        }),
        { numRuns: 3000 },
      );
    },
  );
});

describe('correlation ids', () => {
  it('echoes an id only when it is a string of at most 64 characters, on replies and errors alike', () => {
    const id = fc.oneof(
      fc.string({ unit: 'binary', minLength: 0, maxLength: 64 }),
      fc.string({ unit: 'binary', minLength: 65, maxLength: 200 }),
      fc.jsonValue({ maxDepth: 2 }),
    );
    fc.assert(
      fc.property(messageLike, id, (value, candidate) => {
        const result = outcome(JSON.stringify({ ...value, id: candidate }));
        expectRefusal(result);
        const echoed = result.ok ? result.message.id : errorMessage(result.error).id;
        const valid = typeof candidate === 'string' && candidate.length <= MAX_CLIENT_ID_LENGTH;
        if (echoed !== undefined) {
          expect(echoed.length).toBeLessThanOrEqual(MAX_CLIENT_ID_LENGTH);
          expect(echoed).toBe(candidate);
        }
        if (result.ok) expect(echoed).toBe(valid ? candidate : undefined);
        if (!valid) expect(echoed).toBeUndefined();
      }),
      { numRuns: 3000 },
    );
  });
});

describe('hostile JSON', () => {
  it('with duplicate keys behaves as the same object with the last value, as JSON.parse does', () => {
    const actionValue = fc.oneof(fc.constantFrom(...CLIENT_ACTIONS), fc.string({ maxLength: 12 }));
    fc.assert(
      fc.property(actionValue, actionValue, channelCandidate, (first, last, channel) => {
        const tail = `,"channel":${JSON.stringify(channel)}`;
        const duplicated = outcome(
          `{"action":${JSON.stringify(first)},"action":${JSON.stringify(last)}${tail}}`,
        );
        const single = outcome(`{"action":${JSON.stringify(last)}${tail}}`);
        expect(duplicated.ok).toBe(single.ok);
        if (duplicated.ok && single.ok) expect(duplicated.message).toEqual(single.message);
        if (!duplicated.ok && !single.ok) expect(duplicated.error.message).toBe(single.error.message);
      }),
      { numRuns: 2000 },
    );
  });

  it('with __proto__, constructor and prototype keys reaches no prototype', () => {
    const key = fc.constantFrom(
      '__proto__',
      'constructor',
      'prototype',
      'action',
      'type',
      'channel',
      'id',
      'token',
    );
    const entries = fc.array(
      fc.tuple(key, fc.oneof(anyField, fc.constant({ action: 'ping', polluted: 1 }))),
      {
        maxLength: 6,
      },
    );
    const before = Object.getOwnPropertyNames(Object.prototype).sort();
    fc.assert(
      fc.property(entries, (pairs) => {
        // Written by hand: JSON.stringify would never emit a "__proto__" key from an object literal.
        const raw = `{${pairs.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`;
        const result = outcome(raw);
        expectRefusal(result);
        if (result.ok) {
          expect(Object.getPrototypeOf(result.message)).toBe(Object.prototype);
          for (const k of Object.keys(result.message)) expect(KNOWN_FIELDS).toContain(k);
        }
        expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(before);
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        expect(({} as Record<string, unknown>).action).toBeUndefined();
      }),
      { numRuns: 2000 },
    );
  });

  it('nested 10,000 levels deep is parsed without a stack overflow', () => {
    const deep = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;
    expect(outcome(`{"action":"ping","extra":${deep}}`)).toEqual({ ok: true, message: { action: 'ping' } });
    const refused = outcome(`{"action":"subscribe","channel":${deep}}`);
    expect(refused.ok).toBe(false);
    expectRefusal(refused);
  });
});
