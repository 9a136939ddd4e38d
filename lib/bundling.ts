/**
 * How every Switchboard handler is built, defined once: `HandlerFunction` hands these options to
 * `NodejsFunction`, and `bin/bundle-report.ts` turns the same options into the esbuild call that
 * `NodejsFunction` makes, so the sizes and init times it reports are those of what is deployed.
 * The `@switchboard/cdk` package build (`packages/build.ts`) makes that same call once per handler
 * and ships the bundles, so a user's synth needs neither esbuild nor Docker (`PREBUILT_HANDLERS`).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { type BundlingOptions, LogLevel, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { type AccessNeed, ADAPTER_ACCESS } from '../lambdas/handlers.js';

/** The repository root: the project root for bundling and the home of `package-lock.json`. */
export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Where the handlers live: `lambdas/{entry}.ts`, each exporting `handler` (see `lambdas/handlers.ts`). */
export const LAMBDAS_DIR = fileURLToPath(new URL('../lambdas/', import.meta.url));

export const LOCK_FILE = fileURLToPath(new URL('../package-lock.json', import.meta.url));

/**
 * Replaced by `true` when `packages/build.ts` bundles the construct into `@switchboard/cdk` (an
 * esbuild `define`); never defined when this repository's own app runs the TypeScript sources.
 */
declare const __SWITCHBOARD_PREBUILT_HANDLERS__: boolean | undefined;

/**
 * True in the published package: each handler is the bundle shipped in `PREBUILT_HANDLERS_DIR`
 * (`lambda.Code.fromAsset`), built by the package build with `esbuildOptionsFor`. False here,
 * where `NodejsFunction` bundles `lambdas/{entry}.ts` at synth.
 */
export const PREBUILT_HANDLERS =
  typeof __SWITCHBOARD_PREBUILT_HANDLERS__ === 'boolean' && __SWITCHBOARD_PREBUILT_HANDLERS__;

/** In the package, next to its bundled JavaScript: `dist/handlers/{entry}/index.mjs`. */
export const PREBUILT_HANDLERS_DIR = fileURLToPath(new URL('./handlers/', import.meta.url));

/** The file name `NodejsFunction` gives an ESM bundle, so the handler string is the same either way. */
export const HANDLER_BUNDLE_FILE = 'index.mjs';

/** The directory holding an entry's prebuilt bundle (the Lambda asset). */
export function prebuiltHandlerDir(entry: string): string {
  return `${PREBUILT_HANDLERS_DIR}${entry}`;
}

export const HANDLER_RUNTIME = Runtime.NODEJS_22_X;
export const HANDLER_ARCHITECTURE = Architecture.ARM_64;

/**
 * The Lambda Node.js runtimes ship AWS SDK v3, so it stays out of the bundles (smaller bundles,
 * faster cold starts). Everything else, zod and jose included, is bundled.
 */
export const EXTERNAL_MODULES: readonly string[] = ['@aws-sdk/*'];

/**
 * Some bundled CommonJS dependencies call `require` for Node built-ins; an ESM bundle has no
 * `require`, so esbuild's shim would throw "Dynamic require of ... is not supported" at init.
 */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __switchboardCreateRequire } from 'node:module';" +
  'const require = __switchboardCreateRequire(import.meta.url);';

export const HANDLER_BUNDLING = {
  format: OutputFormat.ESM,
  target: 'node22',
  minify: true,
  sourceMap: true,
  externalModules: [...EXTERNAL_MODULES],
  // Prefer packages' ESM builds, as Node's own resolution of `import` does.
  mainFields: ['module', 'main'],
  banner: ESM_REQUIRE_BANNER,
  // esbuild's per-bundle size summary is noise in `cdk synth`; `npm run bundle-report` has sizes.
  logLevel: LogLevel.WARNING,
  // Local esbuild only: synth must work offline and without Docker.
  forceDockerBundling: false,
} as const satisfies BundlingOptions;

/**
 * What a handler may weigh (issue 11): its minified bundle, and its module init as
 * `npm run bundle-report` measures it. The size is checked by test/infra; init depends on the
 * machine, so the report states it and `bench/results.json` records it.
 *
 * The size is in KiB, 1,024 bytes, as every "KB" of the bundle report and `bench/results.json`:
 * 100 KiB is 102,400 bytes (`minifiedBytes`, the figure the checks compare), not a decimal
 * 100 kB (100,000 bytes).
 */
export const BUNDLE_BUDGET = { minifiedKB: 100, minifiedBytes: 100 * 1024, initMs: 50 } as const;

/** Source maps are only applied to stack traces when Node is told to. */
export const HANDLER_NODE_OPTIONS = '--enable-source-maps';

/** The handler file for an entry named in `lambdas/handlers.ts`. */
export function handlerEntryPath(entry: string): string {
  return `${LAMBDAS_DIR}${entry}.ts`;
}

/** Entries whose handler file (or, in the package, whose prebuilt bundle) does not exist. */
export function missingHandlerEntries(entries: readonly string[]): string[] {
  return entries.filter(
    (entry) =>
      !existsSync(
        PREBUILT_HANDLERS ? `${prebuiltHandlerDir(entry)}/${HANDLER_BUNDLE_FILE}` : handlerEntryPath(entry),
      ),
  );
}

/**
 * The esbuild build options equivalent to the command line `NodejsFunction` runs with
 * `HANDLER_BUNDLING` (`esbuild --bundle {entry} --target=node22 --platform=node --format=esm
 * --minify --sourcemap --external:@aws-sdk/* --banner:js=... --main-fields=module,main`).
 */
export function esbuildOptionsFor(entry: string, outfile: string) {
  return {
    entryPoints: [handlerEntryPath(entry)],
    bundle: true,
    outfile,
    platform: 'node' as const,
    target: HANDLER_BUNDLING.target,
    format: 'esm' as const,
    minify: HANDLER_BUNDLING.minify,
    sourcemap: HANDLER_BUNDLING.sourceMap,
    external: [...HANDLER_BUNDLING.externalModules],
    mainFields: [...HANDLER_BUNDLING.mainFields],
    banner: { js: HANDLER_BUNDLING.banner },
    absWorkingDir: PROJECT_ROOT,
    logLevel: 'warning' as const,
  };
}

interface EsbuildMetafile {
  readonly outputs: Record<string, { readonly inputs: Record<string, { readonly bytesInOutput: number }> }>;
}

/** Which access a bundle's code needs, from its esbuild metafile (`ADAPTER_ACCESS`). */
export function adapterPermissions(metafile: EsbuildMetafile): Record<AccessNeed, boolean> {
  const used = {
    table: false,
    secret: false,
    manageConnections: false,
    fanoutQueue: false,
    publishQueue: false,
  };
  for (const output of Object.values(metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const permission = ADAPTER_ACCESS[input as keyof typeof ADAPTER_ACCESS];
      if (permission && bytesInOutput > 0) used[permission] = true;
    }
  }
  return used;
}
