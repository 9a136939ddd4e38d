/**
 * The local stack's browser pages: the test client (`/`), the dashboard (`/admin`), their
 * stylesheet, and the client SDK bundled for browsers (`/assets/client.js`). esbuild bundles them
 * in memory when the stack starts (a few tens of milliseconds), so `npm start` needs no build step
 * and always serves the SDK exactly as it is in `client/`. Restart the stack to pick up edits.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Plugin } from 'esbuild';

export interface WebAsset {
  readonly body: Buffer;
  readonly contentType: string;
}

/** Assets by URL path. */
export type WebAssets = ReadonlyMap<string, WebAsset>;

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

/** The bundles: URL name under `/assets/` → entry point. */
const ENTRY_POINTS = {
  client: 'client/index.ts',
  'test-page': 'web/test-page.ts',
  dashboard: 'web/dashboard.ts',
} as const;

/** Files served as they are: URL path → file. */
const STATIC_FILES = {
  '/': 'web/index.html',
  '/admin': 'web/admin.html',
  '/assets/styles.css': 'web/styles.css',
} as const;

/**
 * The pages import the SDK from the URL it is served at, so a page runs the very bundle that
 * `/assets/client.js` is (one copy of the SDK, the one a developer can `import()` in the console).
 */
const servedSdk: Plugin = {
  name: 'served-sdk',
  setup(build) {
    build.onResolve({ filter: /(^|\/)client\/index\.js$/ }, (args) =>
      /[\\/]web[\\/]/.test(args.importer) ? { path: '/assets/client.js', external: true } : undefined,
    );
  },
};

function contentType(path: string): string {
  const extension = /\.[a-z]+$/.exec(path)?.[0] ?? '';
  return CONTENT_TYPES[extension] ?? 'application/octet-stream';
}

/** Bundles the scripts and reads the pages. Rejects with esbuild's message when a script does not build. */
export async function buildWebAssets(): Promise<WebAssets> {
  // A devDependency, loaded only here: nothing deployed needs it.
  const { build } = await import('esbuild');
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: ENTRY_POINTS,
    // Nothing is written (`write: false`); esbuild needs a directory to name the outputs.
    outdir: `${ROOT}assets`,
    write: false,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    sourcemap: 'linked',
    charset: 'utf8',
    legalComments: 'none',
    logLevel: 'silent',
    plugins: [servedSdk],
  });
  const assets = new Map<string, WebAsset>();
  for (const file of result.outputFiles) {
    const name = file.path.slice(file.path.lastIndexOf('/') + 1);
    assets.set(`/assets/${name}`, { body: Buffer.from(file.contents), contentType: contentType(name) });
  }
  for (const [path, file] of Object.entries(STATIC_FILES)) {
    assets.set(path, { body: await readFile(`${ROOT}${file}`), contentType: contentType(file) });
  }
  return assets;
}
