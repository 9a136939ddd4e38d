/**
 * Real Chromium for the browser tests: Debian's `chromium` driven by playwright-core (never a
 * downloaded browser). Without Chromium the tests are skipped with the reason printed, unless
 * `SWITCHBOARD_REQUIRE_CHROMIUM=1` (set by `.ci/run`), which makes a missing browser a failure.
 */
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';

export const CHROMIUM_PATH = process.env.SWITCHBOARD_CHROMIUM_PATH?.trim() || '/usr/bin/chromium';

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const required = process.env.SWITCHBOARD_REQUIRE_CHROMIUM === '1';
const missing = existsSync(CHROMIUM_PATH)
  ? undefined
  : `no Chromium at ${CHROMIUM_PATH} (install it with: apt-get install -y chromium)`;

/** True when the browser tests must be skipped: Chromium is missing and not required. */
export const skipWithoutChromium = missing !== undefined && !required;
if (skipWithoutChromium) {
  console.warn(
    `[browser tests] skipped: ${missing}; set SWITCHBOARD_REQUIRE_CHROMIUM=1 to fail instead of skipping`,
  );
}

/** Launches Chromium; fails with the reason when it is missing (only reached when it is required). */
export function launchChromium(): Promise<Browser> {
  if (missing !== undefined) {
    return Promise.reject(new Error(`SWITCHBOARD_REQUIRE_CHROMIUM=1, but there is ${missing}`));
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
}

/**
 * Saves a screenshot under `test-artifacts/`, and into `docs/images/` (what the README and docs/local-stack.md show) when
 * it is not there yet or `SWITCHBOARD_UPDATE_SCREENSHOTS=1`: refreshing the committed images on
 * every run would leave the working tree dirty after each `npm test`.
 */
export async function saveScreenshot(page: Page, name: string): Promise<string> {
  const artifact = `test-artifacts/${name}`;
  mkdirSync(dirname(artifact), { recursive: true });
  // A full-page shot of a scrolled page shows the sticky top bar where the viewport was.
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: artifact, fullPage: true, animations: 'disabled' });
  const docs = `docs/images/${name}`;
  if (process.env.SWITCHBOARD_UPDATE_SCREENSHOTS === '1' || !existsSync(docs)) {
    mkdirSync(dirname(docs), { recursive: true });
    copyFileSync(artifact, docs);
  }
  return artifact;
}
