/**
 * The validation library of everything a handler bundle pulls in (`core/`, `adapters/`,
 * `lambdas/`): `zod/mini`, zod 4's tree-shakable build. Classic `zod` attaches every method to
 * every schema, so a bundle carries all of it (about 440 KB minified with its locales) whatever it
 * uses; `zod/mini` is the same parser with free functions (`z.optional(s)`, `s.check(z.minLength(1))`),
 * so a bundle carries only what it calls: about 25 KB here. Code that no handler imports (`lib/`,
 * `local/`, `cli/`, `bench/`) may keep classic `zod`; both share zod's core, so a schema from here
 * nests in a classic one.
 */
import { en } from 'zod/locales';
import { type coerce, config, ZodMiniNumber } from 'zod/mini';
import { _coercedNumber } from 'zod/v4/core';

// `zod/mini` loads no locale: without one every default message is "Invalid input". English (about
// 3 KB) keeps the configuration and publish errors as precise as classic zod made them ("Too big:
// expected number to be <=1000"). Classic zod sets the same locale when it loads, so a process that
// holds both (the local stack, the tests) sees the same messages either way.
config(en());

// Import it as `import * as z from './validation.js'` and use only `z.something`: esbuild then
// keeps just the functions called. Re-exporting a namespace object (`export { z }`) would keep
// all of zod, its 40 locales included.
export * from 'zod/mini';

/**
 * `z.coerce.number()`, built the way zod/mini's `coerce.number` builds it. `z.coerce` is a
 * namespace inside the namespace: naming it keeps all of `coerce` (its bigint, date and boolean
 * schemas with their parsers, about 1.5 KB minified) in every handler that reads its configuration.
 */
export function coercedNumber(params?: Parameters<typeof coerce.number>[0]): ZodMiniNumber<unknown> {
  return _coercedNumber(ZodMiniNumber, params);
}
