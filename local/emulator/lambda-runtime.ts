/**
 * Runs a Lambda handler module in-process the way the Node.js runtime calls it: `handler(event,
 * context)` awaited, with a plausible `context` and the function timeout enforced. The handler
 * modules are the very files deployed to AWS (`lambdas/{entry}.ts`).
 */
import type { Context } from 'aws-lambda';
import type { Config } from '../../adapters/config.js';
import { LocalStackError } from '../errors.js';
import { uuid } from './aws-ids.js';
import { LambdaThrottledError, LambdaTimeoutError } from './lambda-errors.js';

/** Any `export const handler = async (event, context) => result`; `never` accepts every event type. */
export type LambdaHandler = (event: never, context: Context) => unknown;

/** One deployed function, as the local services see it: a name and an invoke. */
export interface LocalFunction {
  readonly name: string;
  /**
   * A synchronous invocation (`RequestResponse`), as API Gateway and an event source mapping make:
   * refused with `LambdaThrottledError` when the function is at its concurrency limit.
   */
  invoke(event: unknown): Promise<unknown>;
}

export interface LocalFunctionProps {
  readonly name: string;
  readonly handler: LambdaHandler;
  /** @default 30_000 (the stack's function timeout) */
  readonly timeoutMs?: number;
  /** Reserved concurrency: invocations running at once. @default unlimited (the account's pool) */
  readonly reservedConcurrency?: number;
  /** @default 'local' */
  readonly region?: string;
  /** @default '000000000000' */
  readonly account?: string;
}

export const DEFAULT_TIMEOUT_MS = 30_000;
export const LOCAL_ACCOUNT = '000000000000';

/** The `context` argument, with `getRemainingTimeInMillis` counting down to `deadline`. */
export function lambdaContext(props: {
  readonly functionName: string;
  readonly requestId: string;
  readonly deadline: number;
  readonly region: string;
  readonly account: string;
}): Context {
  const { functionName, requestId, deadline, region, account } = props;
  const unsupported = () => {
    throw new Error('callback-style context methods are not supported; return a promise');
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${region}:${account}:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `${new Date().toISOString().slice(0, 10).replaceAll('-', '/')}/[$LATEST]${requestId.replaceAll('-', '')}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: unsupported,
    fail: unsupported,
    succeed: unsupported,
  };
}

/**
 * Wraps a handler as a function that rejects like Lambda: with the handler's error, or with
 * "Task timed out after N seconds". A timed-out handler keeps running in the background (there is
 * no sandbox to freeze), but its result is discarded. The timer starts when the invocation does.
 */
export function createLocalFunction(props: LocalFunctionProps): LocalFunction {
  const timeoutMs = props.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const region = props.region ?? 'local';
  const account = props.account ?? LOCAL_ACCOUNT;
  const limit = props.reservedConcurrency ?? Number.POSITIVE_INFINITY;
  let running = 0;
  return {
    name: props.name,
    async invoke(event) {
      // "Lambda concurrency": past its reserved concurrency a function is throttled (429), and a
      // synchronous caller gets the error; a timed-out invocation frees its slot, as Lambda's does.
      if (running >= limit) throw new LambdaThrottledError(props.name);
      running += 1;
      const requestId = uuid();
      const context = lambdaContext({
        functionName: props.name,
        requestId,
        deadline: Date.now() + timeoutMs,
        region,
        account,
      });
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new LambdaTimeoutError(timeoutMs)), timeoutMs);
      });
      try {
        return await Promise.race([
          Promise.resolve().then(() => props.handler(event as never, context)),
          timedOut,
        ]);
      } finally {
        clearTimeout(timer);
        running -= 1;
      }
    },
  };
}

/** A handler module's `createHandler(config, env)`: builds the handler (sync or async). */
export type HandlerFactory = (
  config: Config,
  env: NodeJS.ProcessEnv,
) => LambdaHandler | Promise<LambdaHandler>;

/**
 * Imports `{dir}/{module}.ts` and returns its `createHandler`. Importing it builds nothing and
 * reads no environment: the caller builds each handler from its own configuration, so stacks
 * with different settings can share one process.
 */
export async function importHandlerFactory(dir: URL, module: string): Promise<HandlerFactory> {
  const file = new URL(`${module}.ts`, dir);
  let imported: { createHandler?: unknown };
  try {
    imported = (await import(file.href)) as { createHandler?: unknown };
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new LocalStackError(`cannot load the handler ${file.pathname}: ${reason}`, { cause: error });
  }
  if (typeof imported.createHandler !== 'function') {
    throw new LocalStackError(`${file.pathname} does not export a function named "createHandler"`);
  }
  return imported.createHandler as HandlerFactory;
}
