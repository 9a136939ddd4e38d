/**
 * What `@switchboard/client` costs an application, measured on the built package the way a bundler
 * would ship it: esbuild bundles an entry that re-exports everything of a subpath (the most any
 * application can pull in), minified for browsers; the gzip size is that output gzipped (level 9).
 * `react` is left out of the `/react` figure: the application already has it.
 */
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { CLIENT_PACKAGE_DIR } from './build.js';

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
