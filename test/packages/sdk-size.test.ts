/**
 * The SDK package's weight, measured on a fresh build of it (into this test's own directory, so it
 * never races `npm pack`): the core client within its budget (10 KB minified and gzipped, issue 14),
 * no runtime dependency, and tree-shaking that works through the package's own files.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildClientPackage, CLIENT_PACKAGE_DIR } from '../../packages/build.js';
import { bundledSize, kilobytes, SDK_SIZE_BUDGET, type SdkSizes, sdkSizes } from '../../packages/sizes.js';

let packageDir: string;
let sizes: SdkSizes;

beforeAll(async () => {
  packageDir = mkdtempSync(join(tmpdir(), 'switchboard-sdk-size-'));
  copyFileSync(join(CLIENT_PACKAGE_DIR, 'package.json'), join(packageDir, 'package.json'));
  await buildClientPackage(packageDir);
  sizes = await sdkSizes(packageDir);
}, 120_000);

afterAll(() => rmSync(packageDir, { recursive: true, force: true }));

describe('@switchboard/client size', () => {
  it(`keeps the core client, every export included, within ${SDK_SIZE_BUDGET.coreMinGzipKB} KB minified and gzipped`, () => {
    console.log(
      `core ${kilobytes(sizes.core.minifiedBytes)} KB min, ${kilobytes(sizes.core.gzipBytes)} KB min+gzip; ` +
        `react ${kilobytes(sizes.react.minifiedBytes)} KB min, ${kilobytes(sizes.react.gzipBytes)} KB min+gzip`,
    );
    expect(sizes.core.gzipBytes).toBeLessThanOrEqual(SDK_SIZE_BUDGET.coreMinGzipKB * 1024);
  });

  it('has no runtime dependency: the core bundles with nothing left external but React', () => {
    const pkg = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8'));
    expect(pkg.dependencies).toBeUndefined();
    expect(pkg.peerDependenciesMeta.react.optional).toBe(true);
    expect(pkg.sideEffects).toBe(false);
  });

  it('lets a bundler drop what an application does not import', async () => {
    const index = JSON.stringify(join(packageDir, 'dist', 'client', 'index.js'));
    const onlyTheError = await bundledSize(`export { SwitchboardError } from ${index};`, packageDir);
    expect(onlyTheError.minifiedBytes).toBeLessThan(sizes.core.minifiedBytes / 10);
  });

  it('keeps the React bindings small: the hook pulls in the channel feed, not the whole client', () => {
    expect(sizes.react.minifiedBytes).toBeLessThan(sizes.core.minifiedBytes / 4);
  });
});
