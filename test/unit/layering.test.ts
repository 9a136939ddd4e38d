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
  ['core/handler-deep.ts', '../lambdas/sub/x.js', true],
  ['core/local-deep.ts', '../local/emulator/lambda-runtime.js', true],
  ['core/roundabout.ts', './../adapters/config.js', true],
  ['core/fs-bare.ts', 'fs', true],
  ['core/fs-promises-bare.ts', 'fs/promises', true],
  ['core/http2.ts', 'node:http2', true],
  ['core/http2-bare.ts', 'http2', true],
  ['core/dgram.ts', 'node:dgram', true],
  ['core/dgram-bare.ts', 'dgram', true],
  ['core/tls.ts', 'node:tls', true],
  ['core/tls-bare.ts', 'tls', true],
  ['core/dns.ts', 'node:dns', true],
  ['core/worker.ts', 'node:worker_threads', true],
  ['core/worker-bare.ts', 'worker_threads', true],
  ['core/cluster.ts', 'node:cluster', true],
  ['core/child-process-bare.ts', 'child_process', true],
  ['core/process.ts', 'node:process', true],
  ['core/process-bare.ts', 'process', true],
  ['core/own.ts', './protocol.js', false],
  ['core/own-deep.ts', './sub/part.js', false],
  ['core/crypto.ts', 'node:crypto', false],
  ['core/zod.ts', 'zod/mini', false],
  ['adapters/handler.ts', '../lambdas/handlers.js', true],
  ['adapters/construct.ts', '../lib/bundling.js', true],
  ['adapters/local.ts', '../local/local-env.js', true],
  ['adapters/local-deep.ts', '../local/emulator/lambda-runtime.js', true],
  ['adapters/handler-deep.ts', '../lambdas/sub/x.js', true],
  ['adapters/cdk.ts', 'aws-cdk-lib', true],
  ['adapters/cdk-module.ts', 'aws-cdk-lib/aws-lambda', true],
  ['adapters/core.ts', '../core/protocol.js', false],
  ['adapters/jose.ts', 'jose', false],
  ['adapters/sdk.ts', '@aws-sdk/client-sqs', false],
  ['lambdas/construct.ts', '../lib/bundling.js', true],
  ['lambdas/local.ts', '../local/local-env.js', true],
  ['lambdas/cdk.ts', 'aws-cdk-lib', true],
  ['lambdas/local-deep.ts', '../local/emulator/lambda-runtime.js', true],
  ['lambdas/construct-deep.ts', '../lib/parts/handlers.js', true],
  ['lambdas/adapter.ts', '../adapters/config.js', false],
  ['lambdas/core.ts', '../core/messages.js', false],
  ['client/core.ts', '../core/settings.js', true],
  ['client/local.ts', '../local/log.js', true],
  ['client/protocol.ts', '../core/protocol.js', false],
  ['client/own.ts', './emitter.js', false],
  ['lib/anything.ts', '../lambdas/handlers.js', false],
  // local/: the emulator, the console and fault injection, composed by local/local-stack.ts.
  ['local/emulator/console.ts', '../console/web-console.js', true],
  ['local/emulator/faults.ts', '../faults/fault-plan.js', true],
  ['local/emulator/composition.ts', '../local-stack.js', true],
  ['local/emulator/console-roundabout.ts', '../../local/console/web-console.js', true],
  ['local/emulator/faults-roundabout.ts', '../../local/faults/fault-plan.js', true],
  ['local/emulator/composition-roundabout.ts', '../../local/local-stack.js', true],
  ['local/emulator/kit.ts', '../log.js', false],
  ['local/emulator/kit-roundabout.ts', '../../local/log.js', false],
  ['local/emulator/own.ts', './lambda-runtime.js', false],
  ['local/emulator/adapter.ts', '../../adapters/config.js', false],
  ['local/console/faults.ts', '../faults/fault-plan.js', true],
  ['local/console/composition.ts', '../local-settings.js', true],
  ['local/console/faults-roundabout.ts', '../../local/faults/fault-plan.js', true],
  ['local/console/composition-roundabout.ts', '../../local/local-settings.js', true],
  ['local/console/emulator.ts', '../emulator/websocket-gateway.js', false],
  ['local/console/kit.ts', '../http-io.js', false],
  ['local/console/core.ts', '../../core/protocol.js', false],
  ['local/faults/console.ts', '../console/activity.js', true],
  ['local/faults/composition.ts', '../main.js', true],
  ['local/faults/composition-roundabout.ts', '../../local/local-stack.js', true],
  ['local/faults/console-roundabout.ts', '../../local/console/activity.js', true],
  ['local/faults/emulator.ts', '../emulator/lambda-runtime.js', false],
  ['local/faults/emulator-roundabout.ts', '../../local/emulator/lambda-runtime.js', false],
  ['local/faults/kit.ts', '../listen.js', false],
  ['local/log.ts', './emulator/aws-ids.js', true],
  ['local/http-io.ts', './local-stack.js', true],
  ['local/errors.ts', './log.js', false],
  ['local/local-stack.ts', './faults/fault-plan.js', false],
  ['local/main.ts', './console/web-console.js', false],
];

/**
 * Other rules that keep a layer in its place, probed on whole sources: core/ reads no settings
 * (the global `process` included, which needs no import), and a Node built-in is named with its
 * `node:` prefix everywhere, so the bare name cannot slip past the lists above (an error, not info).
 */
const RULE_PROBES: readonly (readonly [file: string, rule: string, flagged: boolean, source: string])[] = [
  ['core/env.ts', 'style/noProcessEnv', true, 'export const region = process.env.AWS_REGION;\n'],
  ['core/global.ts', 'correctness/noProcessGlobal', true, 'export const pid = process.pid;\n'],
  ['adapters/env.ts', 'style/noProcessEnv', false, 'export const region = process.env.AWS_REGION;\n'],
  ['lib/bare-builtin.ts', 'style/useNodejsImportProtocol', true, "import { readFileSync } from 'fs';\n"],
  [
    'lib/prefixed-builtin.ts',
    'style/useNodejsImportProtocol',
    false,
    "import { readFileSync } from 'node:fs';\n",
  ],
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
  for (const [file, , , source] of RULE_PROBES) {
    mkdirSync(dirname(join(root, file)), { recursive: true });
    writeFileSync(join(root, file), source);
  }
  const biome = join(PROJECT_ROOT, 'node_modules', '.bin', 'biome');
  const result = spawnSync(biome, ['lint', '--diagnostic-level=error', '--max-diagnostics=500', '.'], {
    cwd: root,
    encoding: 'utf8',
  });
  output = `${result.stdout}\n${result.stderr}`;
}, 60_000);

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('the layering, as biome.json enforces it', () => {
  it.each(PROBES)('%s importing %s: refused %s', (file, _source, refused) => {
    const flagged = new RegExp(`${file.replace('.', '\\.')}:\\d+:\\d+ lint/style/noRestrictedImports`);
    expect(flagged.test(output), output).toBe(refused);
  });

  it.each(RULE_PROBES)('%s: lint/%s as an error %s', (file, rule, flagged) => {
    const diagnostic = new RegExp(`${file.replace('.', '\\.')}:\\d+:\\d+ lint/${rule}`);
    expect(diagnostic.test(output), output).toBe(flagged);
  });
});
