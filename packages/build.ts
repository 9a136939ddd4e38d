/**
 * `npm run packages:build [-- client|cdk]`: builds the two npm packages from this repository's
 * sources, into `packages/{client,cdk}/dist` (never committed). `npm run packages:pack` builds both
 * then packs each with `npm pack` into `packages/*.tgz` (not committed either). The package.json
 * files have no `scripts`: `npm pack` ships package.json as it is on disk, and a build step of this
 * repository would mean nothing in a user's node_modules; so packing is a step of this script rather
 * than a `prepack`, and `npm pack` run by hand packs whatever `dist/` holds.
 *
 * - `@switchboard/client` from `client/`: esbuild transpiles each module to ESM on its own (no
 *   bundling, so an application's bundler drops what it does not import), and the declarations are
 *   emitted by `tsc` then rolled up into one `index.d.ts` by API Extractor, which keeps only what the
 *   exports reach: the server-side half of `core/protocol.ts` (zod schemas) stays out, so the SDK's
 *   types need no dependency either. `react.d.ts` imports from `./index.js`.
 * - `@switchboard/cdk` from `lib/index.ts`: one esbuild bundle of the construct (aws-cdk-lib,
 *   constructs and zod stay imports), its rolled-up declarations, and every handler bundled exactly
 *   as `NodejsFunction` would bundle it (`esbuildOptionsFor`, lib/bundling.ts) into
 *   `dist/handlers/{entry}/index.mjs`, which the packaged construct deploys with `Code.fromAsset`.
 *
 * Each build checks what it wrote: only the imports its package.json allows, and every declaration
 * file resolving inside the package. Packing checks what ships beside (`checkShippedFiles`): a
 * package.json without `scripts` and a README that links nowhere outside the package (`../`), since
 * only the package reaches the user.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { HANDLER_LIST } from '../lambdas/handlers.js';
import { esbuildOptionsFor, HANDLER_BUNDLE_FILE, PROJECT_ROOT } from '../lib/bundling.js';

export const PACKAGES_DIR = fileURLToPath(new URL('./', import.meta.url));
export const CLIENT_PACKAGE_DIR = join(PACKAGES_DIR, 'client');
export const CDK_PACKAGE_DIR = join(PACKAGES_DIR, 'cdk');

/** Every handler the construct deploys (the same list `SwitchboardApi` reads). */
export const HANDLER_ENTRIES: readonly string[] = HANDLER_LIST.map((spec) => spec.entry);

export class PackageBuildError extends Error {
  override readonly name = 'PackageBuildError';
}

interface PackageJson {
  readonly name: string;
  readonly version: string;
  readonly scripts?: Record<string, string>;
  readonly dependencies?: Record<string, string>;
  readonly peerDependencies?: Record<string, string>;
}

export function readPackageJson(dir: string): PackageJson {
  return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PackageJson;
}

/** The package an import specifier names (`aws-cdk-lib/aws-iam` → `aws-cdk-lib`), or undefined if relative. */
function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('node:')) return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

function allowedImports(pkg: PackageJson): Set<string> {
  return new Set([...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})]);
}

/** Import and re-export statements (at a line start) and `import()` types; comments removed first. */
const IMPORT_SPECIFIER =
  /^\s*(?:import|export)\b[^;'"]*?\bfrom\s*['"]([^'"]+)['"]|^\s*import\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/gm;
const COMMENTS = /\/\*[\s\S]*?\*\/|^\s*\/\/.*$/gm;

/** Fails when a shipped file imports a package the package.json does not declare. */
function checkImports(dir: string, pkg: PackageJson, files: readonly string[]): void {
  const allowed = allowedImports(pkg);
  const problems: string[] = [];
  for (const file of files) {
    const text = readFileSync(file, 'utf8').replace(COMMENTS, '');
    for (const [, from, bare, inline] of text.matchAll(IMPORT_SPECIFIER)) {
      const specifier = (from ?? bare ?? inline) as string;
      const name = packageOf(specifier);
      if (name !== undefined && !allowed.has(name)) {
        problems.push(`${relative(dir, file)} imports ${specifier}`);
      }
      if (name === undefined && specifier.startsWith('.')) {
        const target = join(dirname(file), specifier);
        if (!existsSync(target))
          problems.push(`${relative(dir, file)} imports ${specifier}, not in the package`);
      }
    }
  }
  if (problems.length > 0) {
    throw new PackageBuildError(
      `${pkg.name}: imports outside dependencies/peerDependencies or the package:\n  ${problems.join('\n  ')}`,
    );
  }
}

function filesUnder(dir: string, suffix: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith(suffix))
    .map((f) => join(dir, f));
}

/** `tsc` (the repository's) emitting declarations only for `entries` and what they import. */
function emitDeclarations(entries: readonly string[], outDir: string): void {
  const tsc = join(PROJECT_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const result = spawnSync(
    process.execPath,
    [
      tsc,
      '--ignoreConfig',
      '--declaration',
      '--emitDeclarationOnly',
      '--outDir',
      outDir,
      '--rootDir',
      PROJECT_ROOT,
      '--target',
      'ES2022',
      '--module',
      'NodeNext',
      '--moduleResolution',
      'NodeNext',
      '--lib',
      'ES2023,DOM',
      '--strict',
      '--exactOptionalPropertyTypes',
      '--verbatimModuleSyntax',
      '--skipLibCheck',
      '--types',
      'node',
      ...entries.map((e) => join(PROJECT_ROOT, e)),
    ],
    { cwd: PROJECT_ROOT, encoding: 'utf8' },
  );
  if (result.status !== 0) {
    throw new PackageBuildError(`tsc --declaration failed:\n${result.stdout}${result.stderr}`);
  }
}

// API Extractor is CommonJS; its own TypeScript (a dependency of it) reads the declarations.
type ApiExtractor = typeof import('@microsoft/api-extractor');
const require = createRequire(import.meta.url);

/** Rolls the declarations reachable from `entry` (a .d.ts) into the single file `outFile`. */
function rollUpDeclarations(entry: string, outFile: string, packageDir: string): void {
  const { Extractor, ExtractorConfig, ExtractorLogLevel } =
    require('@microsoft/api-extractor') as ApiExtractor;
  const config = ExtractorConfig.prepare({
    configObject: {
      projectFolder: dirname(entry),
      mainEntryPointFilePath: entry,
      compiler: {
        overrideTsconfig: {
          compilerOptions: {
            target: 'ES2022',
            module: 'NodeNext',
            moduleResolution: 'NodeNext',
            lib: ['ES2023', 'DOM'],
            strict: true,
            skipLibCheck: true,
            types: ['node'],
            typeRoots: [join(PROJECT_ROOT, 'node_modules', '@types')],
          },
          files: [entry],
        },
      },
      apiReport: { enabled: false },
      docModel: { enabled: false },
      tsdocMetadata: { enabled: false },
      dtsRollup: { enabled: true, untrimmedFilePath: outFile },
      messages: {
        // Types reachable but not exported (a construct's collaborators) are rolled up unexported.
        extractorMessageReporting: { default: { logLevel: ExtractorLogLevel.None } },
        tsdocMessageReporting: { default: { logLevel: ExtractorLogLevel.None } },
        compilerMessageReporting: { default: { logLevel: ExtractorLogLevel.Error } },
      },
    },
    configObjectFullPath: undefined,
    packageJsonFullPath: join(packageDir, 'package.json'),
  });
  const errors: string[] = [];
  const result = Extractor.invoke(config, {
    localBuild: true,
    messageCallback: (message) => {
      if (message.logLevel === 'error') errors.push(message.text);
      message.handled = true;
    },
  });
  if (!result.succeeded || errors.length > 0) {
    throw new PackageBuildError(`API Extractor failed on ${entry}:\n  ${errors.join('\n  ')}`);
  }
}

/**
 * Where tsc's declarations wait for API Extractor: inside the package directory (and never packed),
 * so that imports in them (`aws-cdk-lib`, `zod`) resolve to the repository's node_modules.
 */
function declarationsDir(packageDir: string): string {
  const dir = join(packageDir, '.declarations');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * Builds `@switchboard/client` into `{packageDir}/dist`: packages/client by default, or a copy of
 * its package.json elsewhere (a test's own directory, so it never races `npm pack`).
 */
export async function buildClientPackage(packageDir = CLIENT_PACKAGE_DIR): Promise<void> {
  const dist = join(packageDir, 'dist');
  rmSync(dist, { recursive: true, force: true });
  const clientDir = join(PROJECT_ROOT, 'client');
  const sources = readdirSync(clientDir)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .map((f) => join(clientDir, f));
  // The client's only import outside client/ that survives compilation (the others are types).
  sources.push(join(PROJECT_ROOT, 'core', 'protocol-version.ts'));
  await build({
    entryPoints: sources,
    outdir: dist,
    outbase: PROJECT_ROOT,
    bundle: false,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    logLevel: 'warning',
  });

  const declarations = declarationsDir(packageDir);
  try {
    emitDeclarations(['client/index.ts', 'client/react.ts'], declarations);
    rollUpDeclarations(
      join(declarations, 'client', 'index.d.ts'),
      join(dist, 'client', 'index.d.ts'),
      packageDir,
    );
    cpSync(join(declarations, 'client', 'react.d.ts'), join(dist, 'client', 'react.d.ts'));
  } finally {
    rmSync(declarations, { recursive: true, force: true });
  }
  checkImports(packageDir, readPackageJson(packageDir), [
    ...filesUnder(dist, '.js'),
    ...filesUnder(dist, '.d.ts'),
  ]);
}

/** Builds `@switchboard/cdk` into packages/cdk/dist: the construct, its types and the handler bundles. */
export async function buildCdkPackage(): Promise<void> {
  const dist = join(CDK_PACKAGE_DIR, 'dist');
  rmSync(dist, { recursive: true, force: true });
  const pkg = readPackageJson(CDK_PACKAGE_DIR);
  await build({
    entryPoints: [join(PROJECT_ROOT, 'lib', 'index.ts')],
    outfile: join(dist, 'index.js'),
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // aws-cdk-lib and constructs must be the app's own copies (construct identity); zod is a
    // dependency because the props types name it.
    external: [...allowedImports(pkg)].flatMap((name) => [name, `${name}/*`]),
    define: { __SWITCHBOARD_PREBUILT_HANDLERS__: 'true' },
    logLevel: 'warning',
  });
  for (const entry of HANDLER_ENTRIES) {
    await build(esbuildOptionsFor(entry, join(dist, 'handlers', entry, HANDLER_BUNDLE_FILE)));
  }

  const declarations = declarationsDir(CDK_PACKAGE_DIR);
  try {
    emitDeclarations(['lib/index.ts'], declarations);
    rollUpDeclarations(join(declarations, 'lib', 'index.d.ts'), join(dist, 'index.d.ts'), CDK_PACKAGE_DIR);
  } finally {
    rmSync(declarations, { recursive: true, force: true });
  }
  checkImports(CDK_PACKAGE_DIR, pkg, [join(dist, 'index.js'), join(dist, 'index.d.ts')]);
}

/** Fails when the package.json or README would ship something that only makes sense in this repository. */
export function checkShippedFiles(packageDir: string): void {
  const pkg = readPackageJson(packageDir);
  const problems: string[] = [];
  if (pkg.scripts !== undefined)
    problems.push(`package.json has scripts (${Object.keys(pkg.scripts).join(', ')})`);
  const readme = readFileSync(join(packageDir, 'README.md'), 'utf8');
  for (const [, target] of readme.matchAll(/\]\((\.\.\/[^)]*)\)/g)) {
    problems.push(`README.md links to ${target}, outside the package`);
  }
  if (problems.length > 0) throw new PackageBuildError(`${pkg.name}: ${problems.join('; ')}`);
}

/** `npm pack` of a built package into `destination`; returns the tarball's path. */
export function packPackage(packageDir: string, destination: string): string {
  checkShippedFiles(packageDir);
  const { name, version } = readPackageJson(packageDir);
  const result = spawnSync('npm', ['pack', '--pack-destination', destination], {
    cwd: packageDir,
    encoding: 'utf8',
  });
  if (result.status !== 0) {
    throw new PackageBuildError(`npm pack of ${name} failed:\n${result.stdout}${result.stderr}`);
  }
  return join(destination, `${name.replace('@', '').replace('/', '-')}-${version}.tgz`);
}

/** True when this file is the program being run, not a module a test imports. */
function isMain(): boolean {
  return process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];
}

if (isMain()) {
  const args = process.argv.slice(2);
  const pack = args.includes('--pack');
  const which = args.filter((a) => a !== '--pack');
  const unknown = which.filter((w) => w !== 'client' && w !== 'cdk');
  if (unknown.length > 0) {
    process.stderr.write(
      `unknown package ${unknown.join(', ')}\nusage: npm run packages:build [-- client|cdk] | npm run packages:pack [-- client|cdk]\n`,
    );
    process.exit(2);
  }
  try {
    if (which.length === 0 || which.includes('client')) {
      await buildClientPackage();
      process.stdout.write(`built ${readPackageJson(CLIENT_PACKAGE_DIR).name} into packages/client/dist\n`);
      if (pack)
        process.stdout.write(
          `packed ${relative(PROJECT_ROOT, packPackage(CLIENT_PACKAGE_DIR, PACKAGES_DIR))}\n`,
        );
    }
    if (which.length === 0 || which.includes('cdk')) {
      await buildCdkPackage();
      process.stdout.write(`built ${readPackageJson(CDK_PACKAGE_DIR).name} into packages/cdk/dist\n`);
      if (pack)
        process.stdout.write(
          `packed ${relative(PROJECT_ROOT, packPackage(CDK_PACKAGE_DIR, PACKAGES_DIR))}\n`,
        );
    }
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(1);
  }
}
