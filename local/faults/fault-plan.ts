/**
 * Fault injection for tests: a plan of failures the local stack plays while it runs. Off unless
 * the stack is started with `SWITCHBOARD_LOCAL_FAULTS=1` (so `npm start` never exposes it), then
 * controlled over HTTP on the stack's port (`GET` / `PUT` / `DELETE /local/faults`, loopback
 * `Host` only) or given at start in `SWITCHBOARD_LOCAL_FAULT_PLAN`. Nothing here exists on AWS:
 * each fault reproduces, on the wire, something AWS does on a bad day.
 *
 * - `management`: the `@connections` API answers 410, 429 or 500 exactly as API Gateway does, or
 *   holds the request (a timeout), for chosen connections, the first n requests of each, or a
 *   fraction of them;
 * - `dynamodb`: DynamoDB becomes unreachable (connections reset, then refused), then comes back:
 *   a proxy between the handlers and DynamoDB plays the restart, and no data is lost;
 * - `publish`: the publish function crashes after k posts of an invocation: the invocation fails
 *   like a runtime exit, the posts it had not made yet are never made, and the event bus retries
 *   the same event (same id);
 * - `dropDisconnect`: `$disconnect` is never delivered for chosen connections (AWS promises it on
 *   a best-effort basis only).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { LambdaCrashError } from '../emulator/lambda-errors.js';
import type { LocalFunction } from '../emulator/lambda-runtime.js';
import type { ManagementApiFaults, ManagementFault, RequestOutcome } from '../emulator/management-api.js';
import type { GatewayFaults } from '../emulator/websocket-gateway.js';
import { isLoopbackHost, pathOf, type RequestHandler, readBody, sendJson } from '../http-io.js';
import { type LocalLog, silentLog } from '../log.js';
import type { TcpProxy } from './tcp-proxy.js';

/** The route that reads and changes the plan. */
export const FAULTS_PATH = '/local/faults';
/** How long a `timeout` holds a request unless told otherwise: past the SDK's 5 s request timeout. */
export const DEFAULT_TIMEOUT_HOLD_MS = 6_000;

const connectionIdSchema = z.string().min(1).max(128);

const managementRuleSchema = z
  .object({
    answer: z.union([z.literal(410), z.literal(429), z.literal(500), z.literal('timeout')], {
      error: 'must be 410, 429, 500 or "timeout"',
    }),
    connectionIds: z.array(connectionIdSchema).min(1).max(10_000).optional(),
    methods: z
      .array(z.enum(['POST', 'GET', 'DELETE']))
      .min(1)
      .optional(),
    first: z.number().int().min(1).max(1_000_000).optional(),
    fraction: z.number().gt(0).max(1).optional(),
    delayMs: z.number().int().min(1).max(120_000).optional(),
  })
  .strict()
  .refine((rule) => rule.delayMs === undefined || rule.answer === 'timeout', {
    message: 'delayMs applies to "timeout" only',
    path: ['delayMs'],
  });

export const faultPlanSchema = z
  .object({
    management: z.array(managementRuleSchema).max(50).optional(),
    dynamodb: z
      .object({ down: z.literal(true), forMs: z.number().int().min(1).max(600_000).optional() })
      .strict()
      .optional(),
    publish: z
      .object({
        crashAfterPosts: z.number().int().min(0).max(1_000_000),
        invocations: z.number().int().min(1).max(1_000).default(1),
      })
      .strict()
      .optional(),
    dropDisconnect: z
      .union([z.literal('all'), z.array(connectionIdSchema).min(1).max(10_000)], {
        error: 'must be "all" or an array of connection ids',
      })
      .optional(),
  })
  .strict();

/** A fault plan, as `PUT /local/faults` takes it (see docs/local-stack.md, "Fault injection"). */
export type FaultPlanInput = z.input<typeof faultPlanSchema>;
/** A validated fault plan, defaults applied. */
export type FaultPlan = z.output<typeof faultPlanSchema>;
export type ManagementRule = NonNullable<FaultPlan['management']>[number];

/** A plan that does not validate; the message names each bad field. */
export class FaultPlanError extends Error {
  override readonly name = 'FaultPlanError';
}

/** Validates a plan (already parsed from JSON); throws `FaultPlanError` naming every bad field. */
export function parseFaultPlan(value: unknown): FaultPlan {
  const parsed = faultPlanSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'plan'}: ${issue.message}`);
  throw new FaultPlanError(issues.join('; '));
}

/** What the plan has done since it was set (reset by every `PUT`, kept by `DELETE`). */
export interface FaultCounts {
  /** `@connections` requests, by what they got. */
  readonly management: {
    readonly '410': number;
    readonly '429': number;
    readonly '500': number;
    /** Requests held (whether or not the client waited). */
    readonly timeout: number;
    /** Held requests the client gave up on: never processed. */
    readonly abandoned: number;
    /** Posts refused because the invocation that sent them had crashed. */
    readonly crashed: number;
    /** Requests the plan let through to the emulator. */
    readonly passed: number;
  };
  /** Publish invocations failed by the `publish` fault. */
  readonly crashedInvocations: number;
  readonly droppedDisconnects: number;
  readonly dynamodb: {
    readonly available: boolean;
    readonly outages: number;
    /** Open connections reset when an outage began. */
    readonly cutConnections: number;
  };
}

/** `GET /local/faults`: the plan in force, its counters, and what each connection's requests got. */
export interface FaultState {
  readonly plan: FaultPlan;
  readonly counts: FaultCounts;
  /** Per connection, the outcome of each `@connections` request in order (the latest 50). */
  readonly requests: Readonly<Record<string, readonly RequestOutcome[]>>;
}

export interface LocalFaultsProps {
  /** The proxy in front of DynamoDB; without it a `dynamodb` fault is refused. @default none */
  readonly dynamodbProxy?: Pick<TcpProxy, 'refuse' | 'accept' | 'accepting'>;
  /** @default Math.random */
  readonly random?: () => number;
  /** @default silent */
  readonly log?: LocalLog;
}

/** A publish invocation armed to crash, and how many of its posts went out. */
interface CrashWatch {
  readonly limit: number;
  posts: number;
  crashed: boolean;
  crash(error: Error): void;
}

type MutableCounts = {
  management: { -readonly [K in keyof FaultCounts['management']]: number };
  crashedInvocations: number;
  droppedDisconnects: number;
  dynamodb: { -readonly [K in keyof FaultCounts['dynamodb']]: FaultCounts['dynamodb'][K] };
};

const MAX_TRACKED_CONNECTIONS = 1_000;
const MAX_OUTCOMES = 50;

function emptyCounts(available: boolean): MutableCounts {
  return {
    management: { '410': 0, '429': 0, '500': 0, timeout: 0, abandoned: 0, crashed: 0, passed: 0 },
    crashedInvocations: 0,
    droppedDisconnects: 0,
    dynamodb: { available, outages: 0, cutConnections: 0 },
  };
}

/** The event id of an `event` message posted to `@connections`, if the body is one. */
function postedEventId(body: Buffer): string | undefined {
  try {
    const message = JSON.parse(body.toString('utf8')) as { type?: unknown; id?: unknown };
    return message.type === 'event' && typeof message.id === 'string' ? message.id : undefined;
  } catch {
    return undefined;
  }
}

/** The plan in force and the hooks the local services consult. */
export class LocalFaults implements ManagementApiFaults {
  private plan: FaultPlan = {};
  private counts: MutableCounts;
  private readonly props: LocalFaultsProps;
  private readonly log: LocalLog;
  private readonly random: () => number;
  /** How many requests each rule has faulted, by `{rule}#{connectionId}`. */
  private ruleUses = new Map<string, number>();
  private outcomes = new Map<string, RequestOutcome[]>();
  private crashesLeft = 0;
  /** Armed publish invocations, by event id. */
  private readonly watches = new Map<string, CrashWatch>();
  private restoreTimer: NodeJS.Timeout | undefined;
  /** Plan changes are applied one after the other (the proxy's state follows them). */
  private applying: Promise<unknown> = Promise.resolve();

  constructor(props: LocalFaultsProps = {}) {
    this.props = props;
    this.log = props.log ?? silentLog;
    this.random = props.random ?? Math.random;
    this.counts = emptyCounts(true);
  }

  /** The plan, its counters and the per-connection outcomes. */
  state(): FaultState {
    return {
      plan: this.plan,
      counts: structuredClone(this.counts),
      requests: Object.fromEntries([...this.outcomes].map(([id, list]) => [id, [...list]])),
    };
  }

  /** Replaces the plan (counters start again from zero); resolves once DynamoDB is in the planned state. */
  set(plan: FaultPlan): Promise<FaultState> {
    if (plan.dynamodb && !this.props.dynamodbProxy) {
      return Promise.reject(new FaultPlanError('dynamodb: this stack has no DynamoDB fault proxy'));
    }
    const next = this.applying.then(async () => {
      clearTimeout(this.restoreTimer);
      this.plan = plan;
      this.counts = emptyCounts(this.props.dynamodbProxy?.accepting ?? true);
      this.ruleUses = new Map();
      this.outcomes = new Map();
      this.crashesLeft = plan.publish?.invocations ?? 0;
      await this.applyDynamoDb(plan.dynamodb);
      this.log.warn(`fault plan set: ${JSON.stringify(plan)}`);
      return this.state();
    });
    this.applying = next.catch(() => undefined);
    return next;
  }

  /** Removes every fault (DynamoDB comes back); the counters are kept for reading. */
  async clear(): Promise<FaultState> {
    await this.removeAll();
    this.log.warn('fault plan cleared');
    return this.state();
  }

  /**
   * At shutdown: no more faults (so that in-flight deliveries can finish instead of waiting out
   * holds and retries) and DynamoDB back for the last `$disconnect`s. The proxy is closed by its owner.
   */
  close(): Promise<void> {
    return this.removeAll();
  }

  private removeAll(): Promise<void> {
    const next = this.applying.then(async () => {
      clearTimeout(this.restoreTimer);
      this.plan = {};
      this.crashesLeft = 0;
      await this.applyDynamoDb(undefined);
    });
    this.applying = next.catch(() => undefined);
    return next;
  }

  private async applyDynamoDb(fault: FaultPlan['dynamodb']): Promise<void> {
    const proxy = this.props.dynamodbProxy;
    if (!proxy) return;
    if (!fault) {
      await proxy.accept();
      this.counts.dynamodb.available = true;
      return;
    }
    if (proxy.accepting) {
      this.counts.dynamodb.cutConnections += await proxy.refuse();
      this.counts.dynamodb.outages += 1;
    }
    this.counts.dynamodb.available = false;
    this.log.warn(`fault: DynamoDB unavailable${fault.forMs ? ` for ${fault.forMs} ms` : ''}`);
    if (fault.forMs === undefined) return;
    this.restoreTimer = setTimeout(() => {
      this.applying = this.applying.then(async () => {
        const { dynamodb: _, ...rest } = this.plan;
        this.plan = rest;
        await this.applyDynamoDb(undefined).catch((error: unknown) =>
          this.log.error('fault: DynamoDB could not come back', error),
        );
        this.log.warn('fault: DynamoDB available again');
      });
    }, fault.forMs);
  }

  /** The `management` fault for one `@connections` request: the first rule that applies wins. */
  decide(connectionId: string, method: string): ManagementFault | undefined {
    const rules = this.plan.management ?? [];
    for (const [index, rule] of rules.entries()) {
      // A rule without `methods` is for POST and DELETE: the sweep's status checks (GET, every
      // connection each period) are faulted only by a rule that names GET.
      if (rule.methods ? !(rule.methods as readonly string[]).includes(method) : method === 'GET') continue;
      if (rule.connectionIds && !rule.connectionIds.includes(connectionId)) continue;
      const key = `${index}#${connectionId}`;
      const used = this.ruleUses.get(key) ?? 0;
      if (rule.first !== undefined && used >= rule.first) continue;
      if (rule.fraction !== undefined && this.random() >= rule.fraction) continue;
      this.ruleUses.set(key, used + 1);
      return rule.answer === 'timeout'
        ? { holdMs: rule.delayMs ?? DEFAULT_TIMEOUT_HOLD_MS }
        : { answer: rule.answer };
    }
    return undefined;
  }

  /** Counts a request's outcome, and remembers it for its connection. */
  record(connectionId: string, outcome: RequestOutcome): void {
    const management = this.counts.management;
    if (outcome === 'timeout:abandoned') {
      management.timeout += 1;
      management.abandoned += 1;
    } else {
      management[outcome] += 1;
    }
    let list = this.outcomes.get(connectionId);
    if (!list) {
      if (this.outcomes.size >= MAX_TRACKED_CONNECTIONS) {
        const oldest = this.outcomes.keys().next().value;
        if (oldest !== undefined) this.outcomes.delete(oldest);
      }
      list = [];
      this.outcomes.set(connectionId, list);
    }
    list.push(outcome);
    if (list.length > MAX_OUTCOMES) list.shift();
    if (outcome !== 'passed') this.log.debug(`fault: @connections/${connectionId} got ${outcome}`);
  }

  /**
   * Counts a post against the armed invocation that sent it (found by the event id in its body).
   * The post after the k-th crashes that invocation; it and every later post of the crashed
   * invocation are refused: a dead runtime makes no more posts.
   */
  allowPost(body: Buffer): boolean {
    if (this.watches.size === 0) return true;
    const eventId = postedEventId(body);
    const watch = eventId === undefined ? undefined : this.watches.get(eventId);
    if (!watch) return true;
    if (watch.crashed) return false;
    watch.posts += 1;
    if (watch.posts <= watch.limit) return true;
    watch.crashed = true;
    this.counts.crashedInvocations += 1;
    this.log.warn(
      `fault: the publish invocation of event ${eventId} crashed at its post #${watch.posts} ` +
        '(the posts it still tries are refused)',
    );
    watch.crash(
      new LambdaCrashError(
        `Runtime exited with error: exit status 1 (local fault: crashed after ${watch.limit} @connections posts)`,
      ),
    );
    return false;
  }

  /**
   * The publish function, with the `publish` fault: each of the next `invocations` invocations
   * fails as soon as it tries its (k+1)-th post. The handler cannot be stopped in-process, so it
   * runs on as a "zombie" whose posts are all refused (see `allowPost`) until it returns.
   * Posts are matched to invocations by the event ids of the batch (the queue records' bodies):
   * two invocations with the same event at once (which the local queue never makes) would share
   * a count.
   */
  wrapPublish(fn: LocalFunction): LocalFunction {
    return {
      name: fn.name,
      invoke: async (event: unknown) => {
        const eventIds = batchEventIds(event);
        const plan = this.plan.publish;
        if (!plan || this.crashesLeft <= 0 || eventIds.length === 0) return fn.invoke(event);
        this.crashesLeft -= 1;
        let crash: (error: Error) => void = () => {};
        const crashed = new Promise<never>((_, reject) => {
          crash = reject;
        });
        const watch: CrashWatch = { limit: plan.crashAfterPosts, posts: 0, crashed: false, crash };
        for (const id of eventIds) this.watches.set(id, watch);
        const running = fn.invoke(event);
        const forget = () => {
          for (const id of eventIds) if (this.watches.get(id) === watch) this.watches.delete(id);
        };
        // The zombie keeps its watch (so its posts stay refused) until it is done.
        running.then(forget, forget);
        return Promise.race([running, crashed]);
      },
    };
  }

  /** The `dropDisconnect` fault, as the gateway consults it. */
  readonly gatewayFaults: GatewayFaults = {
    dropDisconnect: (connectionId) => {
      const drop = this.plan.dropDisconnect;
      if (drop === undefined || (drop !== 'all' && !drop.includes(connectionId))) return false;
      this.counts.droppedDisconnects += 1;
      this.log.debug(`fault: $disconnect of ${connectionId} dropped`);
      return true;
    },
  };
}

const JSON_BODY_LIMIT = 64 * 1024;
const NO_STORE = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' };

function refuse(res: ServerResponse, status: number, code: string, message: string): void {
  sendJson(res, status, { success: false, error: { code, message } }, NO_STORE);
}

async function readPlan(req: IncomingMessage, res: ServerResponse): Promise<FaultPlan | undefined> {
  // JSON only: a cross-site form cannot send it without a CORS preflight, which is never granted.
  if (!/^application\/json\s*(;|$)/i.test(req.headers['content-type'] ?? '')) {
    await readBody(req, 0);
    refuse(res, 415, 'invalid_request', 'send the plan as JSON (content-type: application/json)');
    return undefined;
  }
  const { body, tooLarge } = await readBody(req, JSON_BODY_LIMIT);
  if (tooLarge) {
    refuse(res, 413, 'invalid_request', `the plan is larger than ${JSON_BODY_LIMIT} bytes`);
    return undefined;
  }
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    refuse(res, 400, 'invalid_request', 'the body is not valid JSON');
    return undefined;
  }
  try {
    return parseFaultPlan(json);
  } catch (error) {
    refuse(res, 400, 'invalid_request', (error as Error).message);
    return undefined;
  }
}

/**
 * `GET` (the state), `PUT` (a new plan: JSON, validated) and `DELETE` (no faults) on
 * `/local/faults`, answered only to loopback `Host` names, like the console's `/local/token`.
 */
export function createFaultRoute(faults: LocalFaults): RequestHandler {
  return async (req, res) => {
    if (pathOf(req.url) !== FAULTS_PATH) return false;
    if (!isLoopbackHost(req.headers.host)) {
      await readBody(req, 0);
      refuse(res, 403, 'forbidden', 'the fault plan answers requests to 127.0.0.1 or localhost only');
      return true;
    }
    const method = req.method ?? 'GET';
    if (method === 'PUT') {
      const plan = await readPlan(req, res);
      if (!plan) return true;
      try {
        sendJson(res, 200, { success: true, data: await faults.set(plan) }, NO_STORE);
      } catch (error) {
        if (!(error instanceof FaultPlanError)) throw error;
        refuse(res, 400, 'invalid_request', error.message);
      }
      return true;
    }
    await readBody(req, 0);
    if (method === 'GET') {
      sendJson(res, 200, { success: true, data: faults.state() }, NO_STORE);
    } else if (method === 'DELETE') {
      sendJson(res, 200, { success: true, data: await faults.clear() }, NO_STORE);
    } else {
      refuse(
        res,
        405,
        'invalid_request',
        `${method} is not allowed on ${FAULTS_PATH}; use GET, PUT or DELETE`,
      );
    }
    return true;
  };
}

/** The EventBridge event ids in an SQS batch (`Records[].body`, each an event envelope). */
function batchEventIds(event: unknown): string[] {
  const records = (event as { Records?: unknown } | null)?.Records;
  if (!Array.isArray(records)) return [];
  const ids: string[] = [];
  for (const record of records) {
    try {
      const id = (JSON.parse(String((record as { body?: unknown }).body)) as { id?: unknown }).id;
      if (typeof id === 'string') ids.push(id);
    } catch {
      // Not an event envelope: nothing to watch.
    }
  }
  return ids;
}
