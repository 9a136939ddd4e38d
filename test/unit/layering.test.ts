/**
 * The layering (client → gateway → handler → core ← adapters), and inside local/ the split into
 * emulator, console and faults (docs/local-stack.md), is enforced by Biome's `noRestrictedImports`
 * in biome.json, so `npm run lint` fails on an import that runs the wrong way. This runs the
 * project's Biome configuration over a small tree of probe files, one import a file, and checks
 * which ones it refuses.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));

const PROBES: readonly (readonly [file: string, source: string, refused: boolean])[] = [
  ['core/sdk.ts', '@aws-sdk/client-dynamodb', true],
  ['core/cdk.ts', 'aws-cdk-lib', true],
  ['core/cdk-module.ts', 'aws-cdk-lib/aws-lambda', true],
  ['core/ws.ts', 'ws', true],
  ['core/fs.ts', 'node:fs', true],
  ['core/adapter.ts', '../adapters/config.js', true],
  ['core/handler.ts', '../lambdas/handlers.js', true],
  ['core/construct.ts', '../lib/bundling.js', true],
  ['core/local.ts', '../local/local-stack.js', true],
  ['core/own.ts', './protocol.js', false],
  ['core/zod.ts', 'zod/mini', false],
  ['adapters/handler.ts', '../lambdas/handlers.js', true],
  ['adapters/construct.ts', '../lib/bundling.js', true],
  ['adapters/local.ts', '../local/local-env.js', true],
  ['adapters/core.ts', '../core/protocol.js', false],
  ['adapters/sdk.ts', '@aws-sdk/client-sqs', false],
  ['lambdas/construct.ts', '../lib/bundling.js', true],
  ['lambdas/local.ts', '../local/local-env.js', true],
  ['lambdas/cdk.ts', 'aws-cdk-lib', true],
  ['lambdas/adapter.ts', '../adapters/config.js', false],
  ['client/core.ts', '../core/settings.js', true],
  ['client/local.ts', '../local/log.js', true],
  ['client/protocol.ts', '../core/protocol.js', false],
  ['client/own.ts', './emitter.js', false],
  ['lib/anything.ts', '../lambdas/handlers.js', false],
  // local/: the emulator, the console and fault injection, composed by local/local-stack.ts.
  ['local/emulator/console.ts', '../console/web-console.js', true],
  ['local/emulator/faults.ts', '../faults/fault-plan.js', true],
  ['local/emulator/composition.ts', '../local-stack.js', true],
  ['local/emulator/kit.ts', '../log.js', false],
  ['local/emulator/own.ts', './lambda-runtime.js', false],
  ['local/emulator/adapter.ts', '../../adapters/config.js', false],
  ['local/console/faults.ts', '../faults/fault-plan.js', true],
  ['local/console/composition.ts', '../local-settings.js', true],
  ['local/console/emulator.ts', '../emulator/websocket-gateway.js', false],
  ['local/console/kit.ts', '../http-io.js', false],
  ['local/console/core.ts', '../../core/protocol.js', false],
  ['local/faults/console.ts', '../console/activity.js', true],
  ['local/faults/composition.ts', '../main.js', true],
  ['local/faults/emulator.ts', '../emulator/lambda-runtime.js', false],
  ['local/faults/kit.ts', '../listen.js', false],
  ['local/log.ts', './emulator/aws-ids.js', true],
  ['local/http-io.ts', './local-stack.js', true],
  ['local/errors.ts', './log.js', false],
  ['local/local-stack.ts', './faults/fault-plan.js', false],
  ['local/main.ts', './console/web-console.js', false],
];

let root: string;
let output: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'switchboard-layering-'));
  const config = JSON.parse(readFileSync(join(PROJECT_ROOT, 'biome.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  delete config.$schema;
  writeFileSync(join(root, 'biome.json'), JSON.stringify(config));
  for (const [file, source] of PROBES) {
    mkdirSync(dirname(join(root, file)), { recursive: true });
    writeFileSync(join(root, file), `import * as probe from '${source}';\n\nexport const used = probe;\n`);
  }
  const biome = join(PROJECT_ROOT, 'node_modules', '.bin', 'biome');
  const result = spawnSync(biome, ['lint', '--max-diagnostics=200', '.'], { cwd: root, encoding: 'utf8' });
  output = `${result.stdout}\n${result.stderr}`;
}, 60_000);

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('the layering, as biome.json enforces it', () => {
  it.each(PROBES)('%s importing %s: refused %s', (file, _source, refused) => {
    const flagged = new RegExp(`${file.replace('.', '\\.')}:\\d+:\\d+ lint/style/noRestrictedImports`);
    expect(flagged.test(output), output).toBe(refused);
  });
});
