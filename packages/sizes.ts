/**
 * What `@switchboard/client` costs an application, measured on the built package the way a bundler
 * would ship it: esbuild bundles an entry that re-exports everything of a subpath (the most any
 * application can pull in), minified for browsers; the gzip size is that output gzipped (level 9).
 * `react` is left out of the `/react` figure: the application already has it.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { PROTOCOL_VERSION } from '../core/protocol-version.js';
import { HANDLER_BUNDLE_FILE } from '../lib/bundling.js';
import {
  buildCdkPackage,
  buildClientPackage,
  CDK_PACKAGE_DIR,
  CLIENT_PACKAGE_DIR,
  HANDLER_ENTRIES,
  readPackageJson,
} from './build.js';

/** The budget of issue 14: the core client, everything it exports, minified and gzipped. */
export const SDK_SIZE_BUDGET = { coreMinGzipKB: 10 } as const;

export interface BundleSize {
  readonly minifiedBytes: number;
  readonly gzipBytes: number;
}

export interface SdkSizes {
  /** `import … from '@switchboard/client'`, every export kept. */
  readonly core: BundleSize;
  /** `import … from '@switchboard/client/react'`, every export kept (with the core it needs). */
  readonly react: BundleSize;
}

/** Bundles `contents` (an entry importing the built package's files) as an application would. */
export async function bundledSize(contents: string, packageDir = CLIENT_PACKAGE_DIR): Promise<BundleSize> {
  const result = await build({
    stdin: { contents, resolveDir: packageDir },
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    external: ['react'],
    write: false,
    logLevel: 'warning',
  });
  const code = result.outputFiles[0]?.contents ?? new Uint8Array();
  return { minifiedBytes: code.length, gzipBytes: gzipSync(code, { level: 9 }).length };
}

/** Measures the package built in `{packageDir}/dist` (`npm run packages:build` builds packages/client). */
export async function sdkSizes(packageDir = CLIENT_PACKAGE_DIR): Promise<SdkSizes> {
  const everything = (file: string) =>
    bundledSize(`export * from ${JSON.stringify(join(packageDir, 'dist', 'client', file))};`, packageDir);
  return { core: await everything('index.js'), react: await everything('react.js') };
}

export const kilobytes = (bytes: number) => Math.round((bytes / 1024) * 10) / 10;

/** One handler bundle as `@switchboard/cdk` ships it (`dist/handlers/{entry}/index.mjs`). */
export interface ShippedHandler {
  readonly handler: string;
  readonly minifiedKB: number;
  readonly gzipKB: number;
  readonly sourceMapKB: number;
}

/** The `packages` section of `bench/results.json` (written by `npm run bundle-report -- --record`). */
export interface PackagesResult {
  readonly measuredAt: string;
  readonly method: string;
  readonly client: {
    readonly name: string;
    readonly version: string;
    readonly protocol: string;
    readonly budget: typeof SDK_SIZE_BUDGET;
    readonly core: { readonly minifiedKB: number; readonly gzipKB: number };
    readonly react: { readonly minifiedKB: number; readonly gzipKB: number };
  };
  readonly cdk: {
    readonly name: string;
    readonly version: string;
    readonly protocol: string;
    readonly constructKB: number;
    readonly handlers: readonly ShippedHandler[];
  };
}

const inKB = (size: BundleSize) => ({
  minifiedKB: kilobytes(size.minifiedBytes),
  gzipKB: kilobytes(size.gzipBytes),
});

/** Builds both packages into packages/{client,cdk}/dist and measures what they ship. */
export async function measurePackages(): Promise<PackagesResult> {
  await buildClientPackage();
  await buildCdkPackage();
  const sdk = await sdkSizes();
  const client = readPackageJson(CLIENT_PACKAGE_DIR);
  const cdk = readPackageJson(CDK_PACKAGE_DIR);
  const cdkDist = join(CDK_PACKAGE_DIR, 'dist');
  const handlers = HANDLER_ENTRIES.map((handler) => {
    const file = join(cdkDist, 'handlers', handler, HANDLER_BUNDLE_FILE);
    const code = readFileSync(file);
    return {
      handler,
      minifiedKB: kilobytes(code.length),
      gzipKB: kilobytes(gzipSync(code, { level: 9 }).length),
      sourceMapKB: kilobytes(statSync(`${file}.map`).size),
    };
  });
  return {
    measuredAt: new Date().toISOString(),
    method:
      'npm run packages:build, then: SDK = esbuild bundle of `export *` from the subpath, minified for browsers (react external), gzip level 9; handlers = the shipped index.mjs files, gzip level 9.',
    client: {
      name: client.name,
      version: client.version,
      protocol: PROTOCOL_VERSION,
      budget: SDK_SIZE_BUDGET,
      core: inKB(sdk.core),
      react: inKB(sdk.react),
    },
    cdk: {
      name: cdk.name,
      version: cdk.version,
      protocol: PROTOCOL_VERSION,
      constructKB: kilobytes(statSync(join(cdkDist, 'index.js')).size),
      handlers,
    },
  };
}
