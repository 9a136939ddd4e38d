#!/usr/bin/env node
/**
 * Keeps Biome's per-platform binaries listed in package-lock.json.
 *
 * Why: `@biomejs/biome` pulls its binary from optional packages, one per platform. The npm
 * registry mirror of this workspace serves only the Linux glibc ones, so `npm install` here
 * leaves the others out of the lock, and `npm ci` then refuses the lock as out of sync. Listing
 * them (with their os/cpu/libc, so npm skips them on other platforms without fetching) makes the
 * lock complete again. Run it after any `npm install`; `npm run lint` checks it (`--check`).
 */
import { readFileSync, writeFileSync } from 'node:fs';

const file = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(file, 'utf8'));
const biome = lock.packages['node_modules/@biomejs/biome'];
const missing = Object.entries(biome.optionalDependencies ?? {}).filter(
  ([name]) => !lock.packages[`node_modules/${name}`],
);
if (process.argv.includes('--check')) {
  if (missing.length > 0) {
    console.error(
      `package-lock.json lacks ${missing.map(([n]) => n).join(', ')}: run node scripts/lock-biome-platforms.mjs`,
    );
    process.exit(1);
  }
  process.exit(0);
}
for (const [name, version] of missing) {
  const [os, cpu, libc] = name.replace('@biomejs/cli-', '').split('-');
  lock.packages[`node_modules/${name}`] = {
    version,
    cpu: [cpu],
    dev: true,
    license: biome.license,
    optional: true,
    os: [os],
    ...(libc ? { libc: [libc] } : {}),
    engines: biome.engines,
  };
}
writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
console.log(missing.length ? `listed ${missing.map(([n]) => n).join(', ')}` : 'nothing to do');
