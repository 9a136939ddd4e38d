/**
 * Both packages proved by installing them, as a user would (issue 14): `@switchboard/cdk` and
 * `@switchboard/client` are built and packed with `npm pack` (what `npm run packages:pack` does), and
 * scratch projects created here, in a temporary directory, install the tarballs with
 * `npm install --prefer-offline`. What ships is only what makes sense outside this repository: a
 * package.json without `scripts`, a README without links out of the package.
 *
 * - a TypeScript CDK app that adds `new SwitchboardApi(this, 'Realtime', …)` to its own stack,
 *   type-checked against the shipped declarations (`skipLibCheck: false`), then synthesized by plain
 *   `node` with a PATH holding nothing but node: no esbuild, no Docker, no network;
 * - a React web app, built with esbuild, that uses the SDK and `useSwitchboard` from
 *   `@switchboard/client/react`, type-checked likewise, served on loopback and run in real Chromium
 *   against the local stack: it connects, subscribes, and shows an event published with PutEvents;
 *   and a type check under `moduleResolution: node10` (which ignores `exports`) still finds the
 *   types of `@switchboard/client/react` (`typesVersions`).
 *
 * The scratch projects' type checks use this repository's `tsc` (the same TypeScript version), and
 * for `node10`, which TypeScript 7 no longer has, API Extractor's TypeScript 6.
 */
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, extname, join } from 'node:path';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION } from '../../core/protocol-version.js';
import {
  buildCdkPackage,
  buildClientPackage,
  CDK_PACKAGE_DIR,
  CLIENT_PACKAGE_DIR,
  HANDLER_ENTRIES,
  packPackage,
} from '../../packages/build.js';
import { launchChromium, skipWithoutChromium } from '../browser/chromium.js';
import { type RunningStack, startStack, tokenFor } from '../support/local-stack.js';
import { eventBridge, publish } from '../support/publisher.js';

const ROOT = join(import.meta.dirname, '..', '..');
const ROOT_PACKAGE = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
/** A TypeScript that still has `moduleResolution: node10` (removed in 7): API Extractor's own 6.x. */
const TSC_6 = join(
  ROOT,
  'node_modules',
  '@microsoft',
  'api-extractor',
  'node_modules',
  'typescript',
  'bin',
  'tsc',
);
const NPM_INSTALL = ['install', '--prefer-offline', '--no-audit', '--no-fund', '--save-exact'];
/** What the scratch web app installs besides the SDK: React 19 and esbuild, as a user's app would. */
const WEB_APP_DEPENDENCIES = [
  'react@19.3.1',
  'react-dom@19.3.1',
  '@types/react@19.3.3',
  '@types/react-dom@19.3.0',
  `esbuild@${ROOT_PACKAGE.devDependencies.esbuild}`,
];

let scratch: string;
const tarballs: { client?: string; cdk?: string } = {};

/** The environment of a scratch command: none of the npm variables of the `npm test` that runs us. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key)));
  return { ...env, ...extra };
}

function run(command: string, args: string[], cwd: string, env = cleanEnv()): SpawnSyncReturns<string> {
  const result = spawnSync(command, args, { cwd, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} (in ${cwd}) exited ${result.status}:\n${result.stdout}\n${result.stderr}`,
    );
  }
  return result;
}

function pack(packageDir: string): string {
  const tarball = packPackage(packageDir, scratch);
  expect(existsSync(tarball)).toBe(true);
  return tarball;
}

/** The package.json and README of an installed package: only what makes sense outside this repository. */
function expectSelfContained(installed: string): Record<string, unknown> {
  const pkg = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as Record<string, unknown>;
  expect(pkg.scripts).toBeUndefined();
  const readme = readFileSync(join(installed, 'README.md'), 'utf8');
  expect(readme).not.toMatch(/\]\(\.\.\//);
  expect(readme).toContain(`import {`);
  return pkg;
}

function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
}

/** The properties of a synthesized `AWS::Lambda::Function` this test reads. */
interface LambdaProperties {
  readonly Handler?: string;
  readonly Runtime?: string;
  readonly Architectures?: string[];
  readonly Code: { readonly S3Key: string };
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'switchboard-install-'));
  await buildCdkPackage();
  await buildClientPackage();
  tarballs.cdk = pack(CDK_PACKAGE_DIR);
  tarballs.client = pack(CLIENT_PACKAGE_DIR);
}, 240_000);

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe('@switchboard/cdk, installed into a new CDK app', () => {
  it('type-checks with the shipped types and synthesizes without esbuild or Docker, with every handler prebuilt', () => {
    // Prepare
    const app = join(scratch, 'cdk-app');
    writeFiles(app, {
      'package.json': JSON.stringify({ name: 'scratch-cdk-app', private: true, type: 'module' }),
      'tsconfig.json': JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          // aws-cdk-lib's own declarations name `Disposable`.
          lib: ['ES2023', 'ESNext.Disposable'],
          strict: true,
          skipLibCheck: false,
          types: [],
          rootDir: 'src',
          outDir: 'dist',
        },
        include: ['src'],
      }),
      'src/app.ts': `import { App, CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import { EventBus } from 'aws-cdk-lib/aws-events';
import type { Construct } from 'constructs';
import { PROTOCOL_VERSION, SwitchboardApi, type SwitchboardApiProps } from '@switchboard/cdk';

class ShopStack extends Stack {
  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    const orders = new EventBus(this, 'Orders');
    const options: SwitchboardApiProps = { eventBus: orders, allowedOrigins: ['https://shop.example.com'] };
    const realtime = new SwitchboardApi(this, 'Realtime', options);
    new CfnOutput(this, 'WebSocketUrl', { value: realtime.webSocketUrl });
    new CfnOutput(this, 'Protocol', { value: PROTOCOL_VERSION });
  }
}

const app = new App({ analyticsReporting: false });
new ShopStack(app, 'Shop');
app.synth();
`,
    });
    run(
      'npm',
      [
        ...NPM_INSTALL,
        tarballs.cdk as string,
        `aws-cdk-lib@${ROOT_PACKAGE.dependencies['aws-cdk-lib']}`,
        `constructs@${ROOT_PACKAGE.dependencies.constructs}`,
      ],
      app,
    );

    // Act
    run(process.execPath, [TSC, '-p', '.'], app);
    // Nothing on PATH but node, no HOME: a synth that needed esbuild, Docker or npx would fail here.
    run(process.execPath, ['dist/app.js'], app, {
      PATH: dirname(process.execPath),
      CDK_OUTDIR: 'cdk.out',
      CDK_DISABLE_VERSION_CHECK: '1',
      CDK_CONTEXT_JSON: JSON.stringify({ 'cli-telemetry': false }),
    });

    // Assess
    expectSelfContained(join(app, 'node_modules', '@switchboard', 'cdk'));
    expect(existsSync(join(app, 'node_modules', 'esbuild'))).toBe(false);
    const template = JSON.parse(readFileSync(join(app, 'cdk.out', 'Shop.template.json'), 'utf8'));
    const functions = Object.values(
      template.Resources as Record<string, { Type: string; Properties: LambdaProperties }>,
    )
      .filter((r) => r.Type === 'AWS::Lambda::Function' && r.Properties.Handler === 'index.handler')
      .map((r) => r.Properties);
    expect(functions).toHaveLength(HANDLER_ENTRIES.length);
    for (const fn of functions) expect(fn).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'] });
    expect(template.Outputs.Protocol.Value).toBe(PROTOCOL_VERSION);

    // Every function's code is one of the bundles the package ships, byte for byte.
    const shipped = new Set(
      HANDLER_ENTRIES.map((entry) =>
        sha256(join(app, 'node_modules', '@switchboard', 'cdk', 'dist', 'handlers', entry, 'index.mjs')),
      ),
    );
    const assets = JSON.parse(readFileSync(join(app, 'cdk.out', 'Shop.assets.json'), 'utf8')).files as Record<
      string,
      { source: { path: string } }
    >;
    const deployed = functions.map((fn) => {
      const hash = String(fn.Code.S3Key).replace(/\.zip$/, '');
      const source = assets[hash]?.source.path as string;
      const dir = join(app, 'cdk.out', source);
      expect(readdirSync(dir).sort()).toEqual(['index.mjs', 'index.mjs.map']);
      return sha256(join(dir, 'index.mjs'));
    });
    for (const digest of deployed) expect(shipped.has(digest)).toBe(true);
  }, 240_000);
});

describe.skipIf(skipWithoutChromium)('@switchboard/client, installed into a React app', () => {
  let stack: RunningStack;
  let bus: EventBridgeClient;
  let browser: Browser;
  let server: Server;

  beforeAll(async () => {
    stack = await startStack();
    bus = eventBridge(stack.baseUrl);
    browser = await launchChromium();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    bus?.destroy();
    await stack?.stop();
  });

  it('type-checks, builds, connects in Chromium and shows an event published with PutEvents', async () => {
    // Prepare: the app a user would write, from the package's README.
    const app = join(scratch, 'web-app');
    writeFiles(app, {
      'package.json': JSON.stringify({
        name: 'scratch-web-app',
        private: true,
        type: 'module',
        scripts: {
          build:
            'esbuild src/main.tsx --bundle --minify --format=esm --jsx=automatic --outfile=dist/app.js --define:process.env.NODE_ENV=\\"production\\"',
        },
      }),
      'tsconfig.json': JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'ESNext',
          moduleResolution: 'Bundler',
          lib: ['ES2023', 'DOM', 'DOM.Iterable'],
          jsx: 'react-jsx',
          strict: true,
          skipLibCheck: false,
          noEmit: true,
          types: [],
        },
        include: ['src'],
      }),
      'src/main.tsx': `import { createClient, PROTOCOL_VERSION } from '@switchboard/client';
import { SwitchboardProvider, usePresence, useSwitchboard } from '@switchboard/client/react';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';

const params = new URLSearchParams(location.search);
const client = createClient({
  url: params.get('url') ?? '',
  token: params.get('token') ?? '',
  // The token travels as a subprotocol: out of URLs and access logs.
  tokenTransport: 'protocol',
});

function OrderFeed({ channel }: { readonly channel: string }) {
  const { state, subscribed, events, error } = useSwitchboard(channel, { keep: 10 });
  return (
    <section>
      <p data-testid="state" data-state={state}>Connection: {state}</p>
      <p data-testid="subscribed" data-subscribed={String(subscribed)}>Subscribed: {String(subscribed)}</p>
      {error && <p role="alert">{error.code}: {error.message}</p>}
      <ul id="events">
        {events.map((event) => (
          <li key={event.id} data-event-id={event.id}>
            #{event.seq} {event.event_type}: {JSON.stringify(event.data)}
          </li>
        ))}
      </ul>
    </section>
  );
}

function Room({ room }: { readonly room: string }) {
  const { events, publish, subscribed } = useSwitchboard(room, { keep: 10 });
  const { members, count, known } = usePresence(room);
  return (
    <section>
      <p data-testid="members" data-known={String(known)}>{count}: {members.join(', ')}</p>
      <button id="say" disabled={!subscribed} onClick={() => void publish({ text: 'hello' }, { eventType: 'chat_message' })}>
        Say hello
      </button>
      <ul id="room">
        {events.map((event) => (
          <li key={event.id} data-event-id={event.id}>{event.sender?.userId}: {JSON.stringify(event.data)}</li>
        ))}
      </ul>
    </section>
  );
}

const root = document.getElementById('root');
if (!root) throw new Error('no #root');
createRoot(root).render(
  <StrictMode>
    <SwitchboardProvider client={client}>
      <h1>Orders (protocol {PROTOCOL_VERSION})</h1>
      <OrderFeed channel={params.get('channel') ?? 'orders'} />
      <Room room={params.get('room') ?? 'room:demo'} />
    </SwitchboardProvider>
  </StrictMode>,
);
`,
      'dist/index.html':
        '<!doctype html><html><head><meta charset="utf-8"><title>Orders</title><link rel="icon" href="data:,"></head><body><div id="root"></div><script type="module" src="/app.js"></script></body></html>',
    });
    run('npm', [...NPM_INSTALL, tarballs.client as string, ...WEB_APP_DEPENDENCIES], app);
    run(process.execPath, [TSC, '-p', '.'], app);
    // An older project's resolution: `node10` ignores `exports`, so the subpath needs `typesVersions`.
    writeFiles(app, {
      'node10/tsconfig.json': JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'commonjs',
          moduleResolution: 'node10',
          ignoreDeprecations: '6.0',
          lib: ['ES2023', 'DOM'],
          strict: true,
          skipLibCheck: false,
          noEmit: true,
          types: [],
        },
        include: ['.'],
      }),
      'node10/check.ts': `import { type Client, createClient } from '@switchboard/client';
import { type SwitchboardChannel, useSwitchboard } from '@switchboard/client/react';
export const connect: (url: string) => Client = (url) => createClient({ url });
export const feed: (channel: string) => SwitchboardChannel = useSwitchboard;
`,
    });
    run(process.execPath, [TSC_6, '-p', 'node10'], app);
    expect(expectSelfContained(join(app, 'node_modules', '@switchboard', 'client')).typesVersions).toEqual({
      '*': { react: ['./dist/client/react.d.ts'] },
    });
    run('npm', ['run', 'build'], app);
    server = await serve(join(app, 'dist'));
    const channel = `orders-${Date.now()}`;
    const token = await tokenFor({ sub: 'alice' });

    // Act
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    const room = `room:${channel}`;
    const query = new URLSearchParams({ url: stack.websocketUrl, token, channel, room });
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/?${query}`);
    await page.locator('[data-testid="subscribed"][data-subscribed="true"]').waitFor({ timeout: 15_000 });
    const eventId = await publish(bus, { channel, data: { order: 42 } }, { DetailType: 'order_paid' });
    const item = page.locator(`#events li[data-event-id="${eventId}"]`);
    await item.waitFor({ timeout: 15_000 });

    // Assess
    expect(await item.textContent()).toBe('#1 order_paid: {"order":42}');
    expect(await page.getAttribute('[data-testid="state"]', 'data-state')).toBe('open');
    expect(await page.textContent('h1')).toBe(`Orders (protocol ${PROTOCOL_VERSION})`);
    // The hooks publish as the client and follow presence: alice is in the room, her message returns
    await page
      .locator('[data-testid="members"][data-known="true"]', { hasText: '1: alice' })
      .waitFor({ timeout: 15_000 });
    await page.locator('#say:not([disabled])').click();
    await page.locator('#room li', { hasText: 'alice: {"text":"hello"}' }).waitFor({ timeout: 15_000 });
    expect(errors).toEqual([]);
  }, 240_000);
});

const CONTENT_TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript' };

/** Serves `dir` on a loopback port: `/` is index.html. */
function serve(dir: string): Promise<Server> {
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://127.0.0.1').pathname;
    const file = join(dir, path === '/' ? 'index.html' : path.slice(1));
    if (!file.startsWith(dir) || !existsSync(file)) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream' });
    response.end(readFileSync(file));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}
