/**
 * What a package ships beside its code (packages/build.ts, `checkShippedFiles`): npm packs
 * package.json as it is on disk, so a repository-only `scripts` entry or a README link out of the
 * package (`../../README.md`) would reach users; the build refuses both, and the two real packages
 * pass.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CDK_PACKAGE_DIR, CLIENT_PACKAGE_DIR, checkShippedFiles } from '../../packages/build.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function packageWith(pkg: Record<string, unknown>, readme: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-shipped-'));
  dirs.push(dir);
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: '@switchboard/x', version: '1.1.0', ...pkg }),
  );
  writeFileSync(join(dir, 'README.md'), readme);
  return dir;
}

describe('checkShippedFiles', () => {
  it('passes both real packages', () => {
    expect(() => checkShippedFiles(CLIENT_PACKAGE_DIR)).not.toThrow();
    expect(() => checkShippedFiles(CDK_PACKAGE_DIR)).not.toThrow();
  });

  it('refuses scripts in the package.json and README links out of the package', () => {
    const dir = packageWith(
      { scripts: { prepack: 'cd ../.. && npx tsx packages/build.ts' } },
      'Part of [Switchboard](../../README.md); see [the changelog](CHANGELOG.md).',
    );
    expect(() => checkShippedFiles(dir)).toThrow(
      '@switchboard/x: package.json has scripts (prepack); README.md links to ../../README.md, outside the package',
    );
  });
});
