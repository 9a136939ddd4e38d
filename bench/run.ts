/**
 * `npm run bench [-- --quick] [-- --stages fan-out,soak] [-- --workers 2]`: Switchboard against its
 * real local stack on this machine, in under ten minutes (`--quick`: about one), and the big
 * channel stage in about ten more.
 *
 * Stages (see each file): cold start of the bundled handlers (`cold-start.ts`), DynamoDB read
 * units per fan-out vs a scan-all (`dynamo-cost.ts`), fan-out latency and throughput against a
 * bare `PostToConnection` floor (`fan-out.ts`), bursts on spread and busy channels with their
 * DynamoDB requests per event (`burst.ts`), client publishes beside service publishes
 * (`client-publish.ts`), a multi-tenant soak (`soak.ts`), big channels and
 * broadcast under a callback quota in a stack of their own (`big-channel.ts`), small channels
 * against the last commit before big channels, both stacks side by side (`small-channels.ts`), and the fan-out's
 * arithmetic at a million subscribers on simulated time (`fanout-sim.ts`). Writes
 * `bench/results.json`, `bench/results.md` (the tables of bench/README.md) and `bench/results.svg`.
 *
 * Everything it starts (the stack and DynamoDB Local's JVM, the client workers and their sockets)
 * is stopped on success, on failure, on Ctrl-C and at the time limit; the workers and the JVM
 * also die with this process if it is killed outright. Exit codes: 0 done, 1 a stage failed,
 * 2 bad arguments, 3 the soak lost or misdelivered events (results are still written), 130 Ctrl-C.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type BenchStack, startBenchStack } from './bench-stack.js';
import { type BigChannelResult, runBigChannel } from './big-channel.js';
import { runBurstStage } from './burst.js';
import { ClientPool } from './client-pool.js';
import { runClientPublish } from './client-publish.js';
import { runColdStart } from './cold-start.js';
import { BenchAbortedError, type BenchContext, StageError, Teardown, within } from './context.js';
import { runDynamoCost } from './dynamo-cost.js';
import { runFanOut } from './fan-out.js';
import { runFanoutSim, simScenarios } from './fanout-sim.js';
import { machineInfo } from './machine.js';
import { stderrSink, writeStdout } from './output.js';
import { runPresenceCost } from './presence-cost.js';
import { Progress, type StagePlan } from './progress.js';
import { renderMarkdown } from './report-markdown.js';
import { renderSvg } from './report-svg.js';
import { type BenchResults, recordedBundles, STAGES, type StageName } from './results.js';
import { runSmallChannels, SMALL_CHANNEL_SIZES, SMALL_CHANNELS_BASELINE } from './small-channels.js';
import { runSoak } from './soak.js';
import { hrNow, round } from './stats.js';
import { runStatsCost, STATS_COST_PLAN } from './stats-cost.js';
import { runWildcardCost, WILDCARD_COST_PLAN } from './wildcard-cost.js';

const USAGE =
  `usage: npm run bench [-- --quick] [-- --stages ${STAGES.join(',')}] [-- --workers N] [-- --max-minutes M] [-- --out DIR]\n` +
  '       [-- --soak-rate EVENTS_PER_S] [-- --soak-rooms ROOMS_PER_TENANT]   (fewer rooms: more subscribers per event)\n' +
  '       [-- --big-subscribers N] [-- --big-quota CALLS_PER_S]   (the big-channel stage)';

function fail(message: string): never {
  stderrSink.write(`${message}\n${USAGE}\n`);
  process.exit(2);
}

function parseOptions() {
  let values: {
    quick?: boolean;
    stages?: string;
    workers?: string;
    'max-minutes'?: string;
    out?: string;
    'soak-rate'?: string;
    'soak-rooms'?: string;
    'big-subscribers'?: string;
    'big-quota'?: string;
    help?: boolean;
  };
  try {
    ({ values } = parseArgs({
      options: {
        quick: { type: 'boolean', default: false },
        stages: { type: 'string' },
        workers: { type: 'string' },
        'max-minutes': { type: 'string' },
        out: { type: 'string' },
        'soak-rate': { type: 'string' },
        'soak-rooms': { type: 'string' },
        'big-subscribers': { type: 'string' },
        'big-quota': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (error) {
    fail((error as Error).message);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const quick = values.quick === true;
  const stages = (values.stages ?? STAGES.join(','))
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = stages.filter((s) => !(STAGES as readonly string[]).includes(s));
  if (unknown.length > 0) fail(`unknown stage(s): ${unknown.join(', ')}`);
  const workers = Number(values.workers ?? 2);
  if (!Number.isInteger(workers) || workers < 1 || workers > 8)
    fail(`--workers must be 1 to 8 (got ${values.workers})`);
  // The big-channel stage runs a stack of its own, with tens of thousands of connections.
  const bigMinutes = stages.includes('big-channel') ? (quick ? 3 : 15) : 0;
  // The small-channel A/B installs an old commit's dependencies and runs two stacks of its own.
  const smallMinutes = stages.includes('small-channels') ? (quick ? 4 : 8) : 0;
  const maxMinutes = Number(values['max-minutes'] ?? (quick ? 4 : 9.5) + bigMinutes + smallMinutes);
  if (!(maxMinutes > 0 && maxMinutes <= 60))
    fail(`--max-minutes must be more than 0 and at most 60 (got ${values['max-minutes']})`);
  const outDir = values.out ?? fileURLToPath(new URL('.', import.meta.url));
  const soakRate = values['soak-rate'] === undefined ? undefined : Number(values['soak-rate']);
  if (soakRate !== undefined && !(soakRate > 0 && soakRate <= 200))
    fail(`--soak-rate must be 0 to 200 (got ${values['soak-rate']})`);
  const soakRooms = values['soak-rooms'] === undefined ? undefined : Number(values['soak-rooms']);
  if (soakRooms !== undefined && !(Number.isInteger(soakRooms) && soakRooms >= 2 && soakRooms <= 100)) {
    fail(`--soak-rooms must be a whole number from 2 to 100 (got ${values['soak-rooms']})`);
  }
  const bigSubscribers =
    values['big-subscribers'] === undefined ? undefined : Number(values['big-subscribers']);
  if (bigSubscribers !== undefined && !(Number.isInteger(bigSubscribers) && bigSubscribers >= 16)) {
    fail(`--big-subscribers must be a whole number of at least 16 (got ${values['big-subscribers']})`);
  }
  const bigQuota = values['big-quota'] === undefined ? undefined : Number(values['big-quota']);
  if (bigQuota !== undefined && !(Number.isInteger(bigQuota) && bigQuota >= 10 && bigQuota <= 100_000)) {
    fail(`--big-quota must be a whole number from 10 to 100,000 (got ${values['big-quota']})`);
  }
  return {
    quick,
    stages: stages as StageName[],
    workers,
    maxMinutes,
    outDir,
    soakRate,
    soakRooms,
    bigSubscribers,
    bigQuota,
  };
}

// The SDK warns once per process that Node 20 support ends in 2027; the project runs on Node 20
// by design (docs/dependencies.md), and the warning would land in the middle of the progress bar.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
// The environment the big-channel stage's own process starts from (it runs a stack of its own).
const launchEnvironment = { ...process.env };

const options = parseOptions();
const has = (stage: StageName) => options.stages.includes(stage);

/** What each stage runs with; `--quick` is a smoke run of the same code with smaller numbers. */
const PLAN = options.quick
  ? {
      coldStartRuns: 1,
      cost: { connections: 2_000, subscribers: 100 },
      fanOut: {
        sizes: [1, 100, 1000],
        rounds: (n: number) => (n >= 1000 ? 8 : 15),
        warmupRounds: 2,
        pauseMs: 30,
      },
      burst: { channels: 50, events: 250, largeEvents: 1_000, warmupEvents: 50 },
      clientPublish: { clients: 20, perClient: 10, rounds: 15, warmupRounds: 2, pauseMs: 30 },
      soak: { clients: 500, seconds: 15, eventsPerSecond: 10, roomsPerTenant: 10 },
      bigChannel: { subscribers: 2_000, outsiders: 10 },
      smallChannels: { rounds: (n: number) => (n >= 1000 ? 8 : 15), warmupRounds: 2, pauseMs: 30 },
      simSubscribers: 100_000,
    }
  : {
      coldStartRuns: 5,
      cost: { connections: 10_000, subscribers: 100 },
      fanOut: {
        sizes: [1, 100, 1000, 5000],
        rounds: (n: number) => (n >= 5000 ? 25 : n >= 1000 ? 40 : n >= 100 ? 60 : 100),
        warmupRounds: 3,
        pauseMs: 50,
      },
      burst: { channels: 50, events: 1_000, largeEvents: 10_000, warmupEvents: 100 },
      clientPublish: { clients: 50, perClient: 10, rounds: 60, warmupRounds: 5, pauseMs: 50 },
      // 48 subscribers per (tenant, room): about 720 deliveries/s, well inside what one local
      // stack process sustains; bench/README.md ("Under overload") says what happens past it.
      soak: { clients: 2_400, seconds: 60, eventsPerSecond: 15, roomsPerTenant: 20 },
      bigChannel: { subscribers: 20_000, outsiders: 20 },
      // Per size and side; each round is one event to each stack.
      smallChannels: {
        rounds: (n: number) => (n >= 1000 ? 40 : n >= 100 ? 60 : 100),
        warmupRounds: 3,
        pauseMs: 50,
      },
      simSubscribers: 1_000_000,
    };
/**
 * The big-channel stage's quota and budget. 1,000 calls/s: what this 2-core machine's local stack
 * keeps up with, 18,000+ sockets open, while it also runs the handlers, DynamoDB Local and the
 * client workers, and other work shares the machine. Its bare PostToConnection floor is 2,000 to
 * 3,000/s on an idle machine, but with a load average of 10 to 20 from elsewhere the fan-out
 * posted 600 to 800/s: at 2,000/s the stage measured the machine, not the fan-out. Switchboard's
 * budget is 90 % of the quota, and retries after a 429 spend budget too. A fan-out timeout of
 * 20 s: a worker starts a page only with 12 s left and no post in the last 8 s, so each invocation
 * posts for a few seconds, and at this budget's share (56/s a worker) a shard takes two
 * invocations or more, so continuations and hand-ons are exercised. The sweep every 10 minutes:
 * its `GET @connections` calls share the budget (a quarter at most, core/sweep.ts), and the quota
 * here is a tenth of AWS's default, so its period is ten times the default minute (18,742
 * connections a minute would take a third of this quota, as a million would take more than
 * AWS's whole default quota).
 */
const BIG_CHANNEL = {
  quotaPerSecond: 1_000,
  budgetShare: 0.9,
  fanoutTimeoutSeconds: 20,
  sweepIntervalSeconds: 600,
} as const;
const SOAK_TENANTS = ['t-alpha', 't-beta', 't-gamma', 't-delta', undefined] as const;

const quickFactor = options.quick ? 0.3 : 1;
const needsStack =
  has('dynamodb-cost') ||
  has('stats-cost') ||
  has('wildcard-cost') ||
  has('presence-cost') ||
  has('fan-out') ||
  has('burst') ||
  has('client-publish') ||
  has('soak');
const stagePlan: StagePlan[] = [
  ...(has('cold-start') ? [{ name: 'cold start', weight: options.quick ? 15 : 45 }] : []),
  ...(needsStack ? [{ name: 'stack', weight: 10 }] : []),
  ...(has('dynamodb-cost') ? [{ name: 'DynamoDB cost', weight: 30 * quickFactor }] : []),
  ...(has('stats-cost') ? [{ name: 'stats cost', weight: 40 * quickFactor }] : []),
  ...(has('wildcard-cost') ? [{ name: 'wildcard cost', weight: 15 }] : []),
  ...(has('presence-cost') ? [{ name: 'presence cost', weight: 15 }] : []),
  ...(has('fan-out')
    ? [
        { name: 'fan-out: connect', weight: 60 * quickFactor },
        { name: 'fan-out: measure', weight: 150 * quickFactor },
        { name: 'fan-out: close', weight: 20 * quickFactor },
      ]
    : []),
  ...(has('burst')
    ? [
        { name: 'burst: connect', weight: 5 },
        { name: 'burst: measure', weight: options.quick ? 15 : 60 },
        { name: 'burst: close', weight: 3 },
      ]
    : []),
  ...(has('client-publish')
    ? [
        { name: 'client publish: connect', weight: 3 },
        { name: 'client publish: measure', weight: options.quick ? 10 : 30 },
        { name: 'client publish: close', weight: 3 },
      ]
    : []),
  ...(has('soak')
    ? [
        { name: 'soak: connect', weight: 30 * quickFactor },
        { name: 'soak: publish', weight: PLAN.soak.seconds + 10 },
        { name: 'soak: judge', weight: 3 },
        { name: 'soak: close', weight: 15 * quickFactor },
      ]
    : []),
  { name: 'stopping', weight: 8 },
  ...(has('small-channels')
    ? [
        { name: 'small channels: prepare', weight: 40 },
        { name: 'small channels: stacks', weight: 30 },
        { name: 'small channels: connect', weight: 40 * quickFactor },
        { name: 'small channels: measure', weight: options.quick ? 30 : 150 },
        { name: 'small channels: stop', weight: 10 },
      ]
    : []),
  ...(has('big-channel')
    ? [
        { name: 'big channel: stack', weight: 10 },
        { name: 'big channel: connect', weight: options.quick ? 20 : 200 },
        { name: 'big channel: measure', weight: options.quick ? 15 : 80 },
        { name: 'big channel: close', weight: options.quick ? 10 : 60 },
      ]
    : []),
  ...(has('fanout-sim') ? [{ name: 'fanout-sim', weight: options.quick ? 5 : 60 }] : []),
];

const progress = new Progress(stagePlan);
const controller = new AbortController();
const warnings: string[] = [];
const ctx: BenchContext = {
  signal: controller.signal,
  progress,
  warn(message) {
    warnings.push(message);
    progress.log(`  ! ${message}`);
  },
};

let stack: BenchStack | undefined;
let pool: ClientPool | undefined;
/** What the small-channel stage started (worktree, two stacks, workers): it stops them itself, or the exit does. */
const smallChannelsTeardown = new Teardown();
let currentStage = 'start';
let cleaning: Promise<void> | undefined;

/** Stops what the bench started: the client workers (their sockets), then the stack and its JVM. */
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    progress.stage('stopping', 'closing clients, the stack and DynamoDB Local');
    await pool?.stop().catch(() => {});
    if (stack) {
      await within(stack.close(), 45_000, 'stopping the local stack').catch((error: unknown) => {
        stderrSink.write(`bench: ${(error as Error).message}\n`);
      });
    }
  })();
  return cleaning;
}

let exiting = false;

/** Reports `message`, stops everything, exits with `code`; the first call wins. */
function exitAfterCleanup(code: number, message: string): void {
  if (exiting) return;
  exiting = true;
  process.exitCode = code;
  progress.log(message);
  // Should stopping itself hang, leave anyway: the workers and the JVM die with this process.
  setTimeout(() => process.exit(code), 60_000).unref();
  void Promise.all([cleanup(), smallChannelsTeardown.run()]).finally(() => {
    progress.done();
    process.exit(code);
  });
}

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    controller.abort(new BenchAbortedError(`interrupted (${signal}) during ${currentStage}`));
    exitAfterCleanup(
      130,
      `\nbench: ${signal} during ${currentStage}: stopping everything (Ctrl-C again to leave at once)`,
    );
  });
}
process.on('uncaughtException', (error) => {
  controller.abort(error);
  exitAfterCleanup(1, `\nbench: unexpected error during ${currentStage}: ${error.stack ?? error.message}`);
});
process.on('unhandledRejection', (reason) => {
  const error = reason instanceof Error ? reason : new Error(String(reason));
  controller.abort(error);
  exitAfterCleanup(1, `\nbench: unexpected error during ${currentStage}: ${error.stack ?? error.message}`);
});
const timeLimit = setTimeout(() => {
  const reason = `the time limit of ${options.maxMinutes} min was reached during ${currentStage} (--max-minutes)`;
  controller.abort(new BenchAbortedError(reason));
  // Also when the stage is stuck in a call that does not listen to the abort.
  exitAfterCleanup(1, `\nbench failed: ${reason}`);
}, options.maxMinutes * 60_000);
timeLimit.unref();

async function stage<T>(name: StageName | 'stack', work: () => Promise<T>): Promise<T> {
  currentStage = name;
  try {
    return await work();
  } catch (error) {
    if (error instanceof BenchAbortedError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new StageError(`stage "${name}" failed: ${message}`, { cause: error });
  }
}

async function main(): Promise<BenchResults> {
  const startedAt = new Date();
  const started = hrNow();
  const machine = machineInfo();
  progress.log(
    `Switchboard bench (${options.quick ? 'quick' : 'full'}): ${options.stages.join(', ')} · ${machine.cpuModel}, ` +
      `${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node} · load ${machine.loadAverageAtStart.join(' ')}`,
  );
  if ((machine.loadAverageAtStart[0] ?? 0) > machine.cores) {
    ctx.warn(
      `the machine was busy when the run started (load average ${machine.loadAverageAtStart[0]} on ${machine.cores} cores): absolute numbers are pessimistic`,
    );
  }

  let coldStart: BenchResults['coldStart'];
  if (has('cold-start')) {
    // First, while nothing else of the bench runs: these are single-process timings.
    progress.stage('cold start');
    coldStart = await stage('cold-start', () => runColdStart(ctx, PLAN.coldStartRuns));
    const slowest = [...coldStart.handlers].sort((a, b) => b.initMedianMs - a.initMedianMs)[0];
    progress.log(
      `  cold start: ${coldStart.handlers.length} handlers, slowest ${slowest?.handler} ${slowest?.initMedianMs} ms`,
    );
  }

  let stackInfo: BenchResults['stack'];
  let dynamoCost: BenchResults['dynamoCost'];
  let statsCost: BenchResults['statsCost'];
  let wildcardCost: BenchResults['wildcardCost'];
  let presenceCost: BenchResults['presenceCost'];
  let fanOut: BenchResults['fanOut'];
  let burst: BenchResults['burst'];
  let clientPublish: BenchResults['clientPublish'];
  let soak: BenchResults['soak'];
  if (needsStack) {
    progress.stage('stack', 'starting the local stack and DynamoDB Local');
    const stackStarted = hrNow();
    stack = await stage('stack', () =>
      within(startBenchStack(), 120_000, 'starting the local stack', ctx.signal),
    );
    const running = stack;
    stackInfo = {
      startSeconds: round((hrNow() - stackStarted) / 1000, 1),
      rssMiBAfterStart: round(process.memoryUsage.rss() / 1024 ** 2, 1),
      logs: running.logs,
    };
    progress.log(`  stack: ready in ${stackInfo.startSeconds} s at ${running.stack.endpoints.websocket}`);

    if (has('dynamodb-cost')) {
      progress.stage('DynamoDB cost');
      dynamoCost = await stage('dynamodb-cost', () => runDynamoCost(ctx, running, PLAN.cost));
      progress.log(
        `  DynamoDB: Query ${dynamoCost.query.reported ?? dynamoCost.query.estimated} RU vs scan-all ` +
          `${dynamoCost.scan.reported ?? dynamoCost.scan.estimated} RU (×${dynamoCost.ratio})`,
      );
    }
    if (has('stats-cost')) {
      progress.stage('stats cost');
      // --quick: the same two tenants, a tenth of the connections.
      const plan = options.quick
        ? { ...STATS_COST_PLAN, tenants: { acme: 900, globex: 100 } }
        : STATS_COST_PLAN;
      statsCost = await stage('stats-cost', () => runStatsCost(ctx, running.dynamodb, plan));
      progress.log(
        `  stats: a tenant admin reads ${statsCost.now.globex?.readUnits} RU (1 of 2 tenants), ` +
          `a platform admin ${statsCost.now['*']?.readUnits} RU; before: ${statsCost.before.readUnits} RU for anyone`,
      );
    }
    if (has('wildcard-cost')) {
      progress.stage('wildcard cost');
      wildcardCost = await stage('wildcard-cost', () =>
        runWildcardCost(ctx, running.dynamodb, WILDCARD_COST_PLAN),
      );
      const { wildcard, noPrefix } = wildcardCost;
      progress.log(
        `  wildcards: a publish to a:b.c makes ${wildcard.queries} Queries (${wildcard.readUnits} RU) for ` +
          `${wildcard.deliveries} posts; plain: ${noPrefix.queries} (${noPrefix.readUnits} RU)`,
      );
    }
    if (has('presence-cost')) {
      progress.stage('presence cost');
      presenceCost = await stage('presence-cost', () =>
        runPresenceCost(ctx, running.stack.endpoints.dynamodb),
      );
      const { join, leaveLast } = presenceCost.operations;
      progress.log(
        `  presence: a join writes ${join.presence.writeUnits} WU, a last leave ${leaveLast.presence.writeUnits} WU; ` +
          `10,000 members read ${presenceCost.requests.at(-1)?.readUnits} RU`,
      );
    }
    if (has('fan-out') || has('burst') || has('client-publish') || has('soak')) {
      pool = await stage('stack', () => ClientPool.start(options.workers, ctx.signal));
    }
    const clients = pool;
    if (has('fan-out') && clients) {
      fanOut = await stage('fan-out', () =>
        runFanOut(ctx, running, clients, PLAN.fanOut, (name) => progress.stage(name)),
      );
    }
    if (has('burst') && clients) {
      burst = await stage('burst', () =>
        runBurstStage(ctx, running, clients, PLAN.burst, (name) => progress.stage(name)),
      );
      progress.log(
        `  burst: hot/spread ×${burst.ratios.hotOverSpread.value} (goal ${burst.ratios.hotOverSpread.goal}), ` +
          `spread/floor ×${burst.ratios.spreadOverFloor.value} (goal ${burst.ratios.spreadOverFloor.goal}), ` +
          `floor ${burst.floor.messagesPerSecond} messages/s`,
      );
    }
    if (has('client-publish') && clients) {
      clientPublish = await stage('client-publish', () =>
        runClientPublish(
          ctx,
          running,
          clients,
          PLAN.clientPublish,
          (name) => progress.stage(name),
          launchEnvironment,
        ),
      );
    }
    if (has('soak') && clients) {
      soak = await stage('soak', () =>
        runSoak(
          ctx,
          running,
          clients,
          {
            ...PLAN.soak,
            ...(options.soakRate ? { eventsPerSecond: options.soakRate } : {}),
            ...(options.soakRooms ? { roomsPerTenant: options.soakRooms } : {}),
            tenants: SOAK_TENANTS,
          },
          (name) => progress.stage(name),
        ),
      );
      progress.log(
        `  soak: ${soak.delivered}/${soak.expectedDeliveries} delivered, lost ${soak.lost}, duplicated ${soak.duplicated}, ` +
          `unexpected ${soak.unexpected}; p99 ${soak.latencyMs.p99} ms; stack RSS peak ${soak.memoryMiB.stack.peak} MiB`,
      );
    }
  }

  currentStage = 'stopping';
  await cleanup();

  // After the shared stack has stopped: the small-channel and big-channel stages bring their own, and the simulation
  // wants the machine to itself (it is CPU-bound).
  let smallChannels: BenchResults['smallChannels'];
  if (has('small-channels')) {
    smallChannels = await stage('small-channels', () =>
      runSmallChannels(
        ctx,
        {
          ...PLAN.smallChannels,
          sizes: SMALL_CHANNEL_SIZES,
          workers: options.workers,
          baselineCommit: SMALL_CHANNELS_BASELINE,
        },
        (name) => progress.stage(name),
        launchEnvironment,
        smallChannelsTeardown,
      ),
    );
  }
  let bigChannel: BigChannelResult | undefined;
  if (has('big-channel')) {
    bigChannel = await stage('big-channel', () =>
      runBigChannel(
        ctx,
        {
          ...BIG_CHANNEL,
          ...PLAN.bigChannel,
          ...(options.bigSubscribers ? { subscribers: options.bigSubscribers } : {}),
          ...(options.bigQuota ? { quotaPerSecond: options.bigQuota } : {}),
          workers: options.workers,
        },
        (name) => progress.stage(name),
        launchEnvironment,
      ),
    );
  }
  let fanoutSim: BenchResults['fanoutSim'];
  if (has('fanout-sim')) {
    progress.stage('fanout-sim');
    fanoutSim = await stage('fanout-sim', () => runFanoutSim(ctx, simScenarios(PLAN.simSubscribers)));
  }
  const logs = stack?.logs;
  if (logs && (logs.stack.error > 0 || (logs.handlers.ERROR ?? 0) > 0)) {
    const latest = logs.recent.slice(-3).map((line) => line.split('\n')[0]);
    ctx.warn(
      `the stack logged ${logs.stack.error} errors and its handlers ${logs.handlers.ERROR ?? 0}; latest: ${latest.join(' | ')}`,
    );
  }
  return {
    schema: 1,
    mode: options.quick ? 'quick' : 'full',
    stages: options.stages,
    startedAt: startedAt.toISOString(),
    durationSeconds: round((hrNow() - started) / 1000, 1),
    machine: { ...machine, loadAverageAtEnd: loadavg().map((v) => round(v, 2)) },
    method: {
      clock:
        'CLOCK_MONOTONIC (process.hrtime) in every process: one machine-wide clock, so receipt minus PutEvents-accepted needs no synchronisation',
      stack:
        'startLocalStack() in the bench process: the real handlers in-process, gateway emulator, EventBridge endpoint, DynamoDB Local (Java, in memory)',
      clientWorkers: options.workers,
      publishConcurrency: stack?.publishConcurrency ?? 32,
    },
    stack: stackInfo,
    coldStart,
    dynamoCost,
    statsCost,
    wildcardCost,
    presenceCost,
    fanOut,
    burst,
    clientPublish,
    soak,
    bigChannel,
    fanoutSim,
    smallChannels,
    warnings,
  };
}

try {
  const results = await main();
  mkdirSync(options.outDir, { recursive: true });
  const files = {
    json: join(options.outDir, 'results.json'),
    md: join(options.outDir, 'results.md'),
    svg: join(options.outDir, 'results.svg'),
  };
  const markdown = renderMarkdown(results);
  const bundles = recordedBundles(files.json);
  writeFileSync(files.json, `${JSON.stringify({ ...results, bundles }, null, 2)}\n`);
  writeFileSync(files.md, markdown);
  writeFileSync(files.svg, renderSvg(results));
  progress.done();
  await writeStdout(`${markdown}\n`);
  stderrSink.write(
    `bench: done in ${Math.round(results.durationSeconds)} s; wrote ${files.json}, ${files.md}, ${files.svg}\n`,
  );
  const soak = results.soak;
  if (soak && (soak.lost > 0 || soak.unexpected > 0)) {
    stderrSink.write(
      `bench: the soak lost ${soak.lost} and misdelivered ${soak.unexpected} deliveries; details in results.json (soak.samples, soak.investigation)\n`,
    );
    process.exit(3);
  }
  process.exit(0);
} catch (error) {
  if (!interrupted) {
    const message = error instanceof Error ? error.message : String(error);
    exitAfterCleanup(1, `\nbench failed: ${message}`);
  }
}
