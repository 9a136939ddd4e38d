/**
 * The fault plan itself: off unless asked for, validated, answered to loopback names only, and
 * each fault's mechanics (rule matching, the DynamoDB proxy, the crash of a publish invocation)
 * checked in-process with stand-in handlers, against the suite's DynamoDB Local.
 */
import { randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { LambdaCrashError } from '../../local/emulator/lambda-errors.js';
import type { LambdaHandler, LocalFunction } from '../../local/emulator/lambda-runtime.js';
import { LocalStackError } from '../../local/errors.js';
import { LocalFaults, parseFaultPlan } from '../../local/faults/fault-plan.js';
import { resolveSettings } from '../../local/local-settings.js';
import { type LocalStack, startLocalStack } from '../../local/local-stack.js';
import { silentLog } from '../../local/log.js';
import { dynamodbEndpoint } from '../support/dynamodb.js';

/** The stacks' environment: this process's is left as it is. */
const stackEnv = { ...process.env, SWITCHBOARD_AUTH_SECRET: 'a-test-secret-that-is-at-least-32-bytes' };
const handler = (fn: (event: never) => unknown) => fn as LambdaHandler;
const standIns = {
  connect: handler(() => ({ statusCode: 200 })),
  disconnect: handler(() => ({ statusCode: 200 })),
  subscribe: handler(() => ({ statusCode: 200 })),
  unsubscribe: handler(() => ({ statusCode: 200 })),
  ping: handler(() => ({ statusCode: 200 })),
  default: handler(() => ({ statusCode: 200 })),
  publish: handler(() => undefined),
  fanout: handler(() => undefined),
  sweep: handler(() => undefined),
  auth: handler(() => ({ statusCode: 401 })),
};

function start(faultInjection: boolean, env: NodeJS.ProcessEnv = stackEnv): Promise<LocalStack> {
  return startLocalStack({
    env,
    port: 0,
    dynamodbEndpoint: dynamodbEndpoint(),
    tableName: `fault-plan-${randomUUID()}`,
    log: silentLog,
    handlers: standIns,
    faultInjection,
  });
}

/** A raw HTTP request, so that the Host header can be anything. */
function call(
  port: number,
  method: string,
  options: { host?: string; contentType?: string; body?: string } = {},
): Promise<{
  status: number;
  body: { success?: boolean; data?: unknown; error?: { code: string; message: string } };
}> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method,
        path: '/local/faults',
        headers: {
          host: options.host ?? `127.0.0.1:${port}`,
          ...(options.contentType ? { 'content-type': options.contentType } : {}),
        },
      },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => {
          text += chunk.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : {} }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Resolves with 'connected' or the error code of a TCP connection attempt. */
function tcpConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

describe('turning fault injection on', () => {
  it('is off by default, and a plan given without turning it on is an error', () => {
    expect(resolveSettings({}, {})).toMatchObject({ faultInjection: false, faultPlan: undefined });
    expect(() => resolveSettings({}, { SWITCHBOARD_LOCAL_FAULT_PLAN: '{}' })).toThrow(
      'SWITCHBOARD_LOCAL_FAULT_PLAN is set but fault injection is off: set SWITCHBOARD_LOCAL_FAULTS=1',
    );
    expect(() => resolveSettings({}, { SWITCHBOARD_LOCAL_FAULTS: 'yes' })).toThrow(LocalStackError);
  });

  it('reads a plan to play from the start, and names what is wrong with a bad one', () => {
    const env = {
      SWITCHBOARD_LOCAL_FAULTS: '1',
      SWITCHBOARD_LOCAL_FAULT_PLAN: '{"management":[{"answer":429,"first":2}],"dropDisconnect":"all"}',
    };
    expect(resolveSettings({}, env)).toMatchObject({
      faultInjection: true,
      faultPlan: { management: [{ answer: 429, first: 2 }], dropDisconnect: 'all' },
    });
    expect(() =>
      resolveSettings({}, { ...env, SWITCHBOARD_LOCAL_FAULT_PLAN: '{"management":[{"answer":418}]}' }),
    ).toThrow(
      'SWITCHBOARD_LOCAL_FAULT_PLAN is not a valid fault plan: management.0.answer: must be 410, 429, 500 or "timeout"',
    );
    expect(() => resolveSettings({}, { ...env, SWITCHBOARD_LOCAL_FAULT_PLAN: '{oops' })).toThrow(
      'not valid JSON',
    );
  });

  it('validates plans strictly: unknown fields and misplaced options are refused', () => {
    expect(() => parseFaultPlan({ managment: [] })).toThrow('plan: Unrecognized key: "managment"');
    expect(() => parseFaultPlan({ management: [{ answer: 500, delayMs: 10 }] })).toThrow(
      'management.0.delayMs: delayMs applies to "timeout" only',
    );
    expect(() => parseFaultPlan({ publish: { crashAfterPosts: -1 } })).toThrow('publish.crashAfterPosts');
    expect(parseFaultPlan({ publish: { crashAfterPosts: 0 } })).toEqual({
      publish: { crashAfterPosts: 0, invocations: 1 },
    });
  });
});

describe('the fault rules', () => {
  it('apply to the chosen connections and methods, the first n requests of each, or a fraction', async () => {
    // Prepare: a "random" that alternates below and above one half.
    let flip = 0;
    const faults = new LocalFaults({ random: () => (flip++ % 2 === 0 ? 0.2 : 0.8) });
    await faults.set(
      parseFaultPlan({
        management: [
          { answer: 410, connectionIds: ['a'], methods: ['DELETE'] },
          { answer: 429, connectionIds: ['a'], first: 2 },
          { answer: 'timeout', connectionIds: ['b'], delayMs: 1234 },
          { answer: 500, fraction: 0.5 },
        ],
      }),
    );
    // Act / Assess
    expect(faults.decide('a', 'DELETE')).toEqual({ answer: 410 });
    expect(faults.decide('a', 'POST')).toEqual({ answer: 429 });
    expect(faults.decide('a', 'POST')).toEqual({ answer: 429 });
    expect(faults.decide('b', 'POST')).toEqual({ holdMs: 1234 });
    expect(faults.decide('a', 'POST')).toEqual({ answer: 500 });
    expect(faults.decide('a', 'POST')).toBeUndefined();
  });

  it("leave the sweep's status checks (GET) alone unless a rule names GET", async () => {
    // Prepare
    const faults = new LocalFaults();
    await faults.set(
      parseFaultPlan({
        management: [
          { answer: 500, connectionIds: ['a'] },
          { answer: 410, methods: ['GET'], connectionIds: ['b'] },
        ],
      }),
    );
    // Act / Assess
    expect(faults.decide('a', 'GET')).toBeUndefined();
    expect(faults.decide('a', 'POST')).toEqual({ answer: 500 });
    expect(faults.decide('b', 'GET')).toEqual({ answer: 410 });
  });

  it('crash a publish invocation at its (k+1)-th post, refuse the posts it still makes, and let the retry through', async () => {
    // Prepare: a publish function that posts three times, then finishes.
    const faults = new LocalFaults();
    await faults.set(parseFaultPlan({ publish: { crashAfterPosts: 1 } }));
    const body = Buffer.from(JSON.stringify({ type: 'event', id: 'evt-1', channel: 'c', seq: 1 }));
    const allowed: boolean[] = [];
    let finish: () => void = () => {};
    const publish: LocalFunction = {
      name: 'publish',
      invoke: async () => {
        for (let i = 0; i < 3; i++) allowed.push(faults.allowPost(body));
        await new Promise<void>((resolve) => {
          finish = resolve;
        });
      },
    };
    const wrapped = faults.wrapPublish(publish);
    // The event source mapping's batch: one record holding the event.
    const batch = { Records: [{ messageId: 'm-1', body: JSON.stringify({ id: 'evt-1' }) }] };
    // Act
    const first = wrapped.invoke(batch);
    // Assess: the invocation fails at once, though its handler has not returned.
    await expect(first).rejects.toBeInstanceOf(LambdaCrashError);
    expect(allowed).toEqual([true, false, false]);
    expect(faults.allowPost(body)).toBe(false);
    finish();
    await new Promise((resolve) => setImmediate(resolve));
    // The retry is not armed (one invocation was planned) and posts freely.
    allowed.length = 0;
    const retry = wrapped.invoke(batch);
    finish();
    await retry;
    expect(allowed).toEqual([true, true, true]);
    expect(faults.state().counts.crashedInvocations).toBe(1);
  });
});

describe('the /local/faults route', () => {
  let stack: LocalStack | undefined;

  afterEach(async () => {
    await stack?.close();
    stack = undefined;
  });

  it('does not exist unless fault injection is on', async () => {
    stack = await start(false);
    expect(stack.faults).toBeUndefined();
    expect(stack.endpoints.faults).toBeUndefined();
    expect((await call(stack.port, 'GET')).status).toBe(404);
    expect((await call(stack.port, 'PUT', { contentType: 'application/json', body: '{}' })).status).toBe(404);
  });

  it('answers loopback names only, JSON only, and explains a bad plan', async () => {
    stack = await start(true);
    const { port } = stack;
    expect(stack.endpoints.faults).toBe(`http://127.0.0.1:${port}/local/faults`);
    // Act / Assess
    // The stack's Host guard refuses a non-loopback name before any route sees it.
    const rebound = await call(port, 'GET', { host: 'evil.example' });
    expect(rebound.status).toBe(403);
    expect(JSON.stringify(rebound.body)).toContain('loopback');
    expect((await call(port, 'GET', { host: `localhost:${port}` })).status).toBe(200);
    expect((await call(port, 'PUT', { contentType: 'text/plain', body: '{}' })).status).toBe(415);
    expect(
      await call(port, 'PUT', {
        contentType: 'application/json',
        body: '{"management":[{"answer":"slow"}]}',
      }),
    ).toMatchObject({
      status: 400,
      body: {
        error: {
          code: 'invalid_request',
          message: 'management.0.answer: must be 410, 429, 500 or "timeout"',
        },
      },
    });
    expect((await call(port, 'POST')).status).toBe(405);
    const set = await call(port, 'PUT', {
      contentType: 'application/json',
      body: '{"management":[{"answer":500,"first":1}],"dropDisconnect":["abc="]}',
    });
    expect(set).toMatchObject({
      status: 200,
      body: {
        success: true,
        data: { plan: { management: [{ answer: 500, first: 1 }], dropDisconnect: ['abc='] } },
      },
    });
    expect(await call(port, 'DELETE')).toMatchObject({ status: 200, body: { data: { plan: {} } } });
  });

  it('plays the plan of SWITCHBOARD_LOCAL_FAULT_PLAN from the start', async () => {
    stack = await start(true, {
      ...stackEnv,
      SWITCHBOARD_LOCAL_FAULT_PLAN: '{"dropDisconnect":"all","publish":{"crashAfterPosts":3}}',
    });
    expect(await call(stack.port, 'GET')).toMatchObject({
      status: 200,
      body: { data: { plan: { dropDisconnect: 'all', publish: { crashAfterPosts: 3, invocations: 1 } } } },
    });
  });

  it('takes DynamoDB away (open connections reset, new ones refused) and brings it back', async () => {
    // Prepare: the handlers' DynamoDB endpoint is the proxy; one connection is open through it.
    stack = await start(true);
    const proxyPort = Number(new URL(stack.handlerConfig.dynamodbEndpoint ?? '').port);
    expect(proxyPort).not.toBe(Number(new URL(stack.endpoints.dynamodb).port));
    const open = connect({ host: '127.0.0.1', port: proxyPort });
    await new Promise((resolve) => open.once('connect', resolve));
    const cut = new Promise<string>((resolve) => {
      open.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
      open.once('close', () => resolve('closed'));
    });
    // Act
    const down = await stack.faults?.set(parseFaultPlan({ dynamodb: { down: true, forMs: 400 } }));
    // Assess
    expect(await cut).toBe('ECONNRESET');
    expect(down?.counts.dynamodb).toEqual({ available: false, outages: 1, cutConnections: 1 });
    expect(await tcpConnect(proxyPort)).toBe('ECONNREFUSED');
    await expect.poll(() => tcpConnect(proxyPort), { timeout: 3_000, interval: 100 }).toBe('connected');
    expect(stack.faults?.state()).toMatchObject({ plan: {}, counts: { dynamodb: { available: true } } });
  });
});
