/**
 * Structured logs and CloudWatch metrics, created once per function. Metric names are shared with
 * the CloudWatch dashboard in `lib/`.
 *
 * Both write what Powertools for AWS Lambda's Logger and Metrics wrote here before: the same JSON
 * log line (`level`, `message`, `timestamp`, `service`, `sampling_rate`, `xray_trace_id`, then the
 * attributes), the same Embedded Metric Format record (namespace, a `service` dimension) and the
 * same `POWERTOOLS_*` variables. They were about 33 KB of every handler bundle, a third of its
 * 100 KB budget (issue 11), for three log methods and two metric methods: none of what that weight
 * carries (log buffering and sampling, child loggers, Lambda context injection, custom dimensions,
 * metadata, high-resolution metrics) is used. A handler that comes to need those should go back to
 * Powertools rather than grow this file.
 */
import type { Log } from '../core/ports.js';
import { HANDLER_SETTINGS } from './handler-settings.js';

export const METRIC = {
  connections: 'Connections',
  disconnections: 'Disconnections',
  refusedHandshakes: 'RefusedHandshakes',
  subscriptions: 'Subscriptions',
  eventsIn: 'EventsIn',
  deliveries: 'Deliveries',
  gone: 'Gone',
  deliveryErrors: 'DeliveryErrors',
  oversizedEvents: 'OversizedEvents',
  invalidEvents: 'InvalidEvents',
  fanoutLatency: 'FanoutLatency',
  sweptConnections: 'SweptConnections',
} as const;

/** The namespace when `POWERTOOLS_METRICS_NAMESPACE` is unset: the settings table's default. */
export const METRICS_NAMESPACE = HANDLER_SETTINGS.metricsNamespace.default;

const serviceName = (env: NodeJS.ProcessEnv) =>
  env.POWERTOOLS_SERVICE_NAME || HANDLER_SETTINGS.serviceName.default;

/** Powertools' level numbers. */
const LOG_LEVELS: Readonly<Record<string, number>> = {
  TRACE: 6,
  DEBUG: 8,
  INFO: 12,
  WARN: 16,
  ERROR: 20,
  CRITICAL: 24,
  SILENT: 28,
};

/**
 * The threshold, as Powertools chooses it: Lambda's advanced logging controls (`AWS_LAMBDA_LOG_LEVEL`,
 * which drop anything below their level whatever the function prints) win, then
 * `POWERTOOLS_LOG_LEVEL`, then `LOG_LEVEL`, else INFO.
 */
function logThreshold(env: NodeJS.ProcessEnv): number {
  const lambda = env.AWS_LAMBDA_LOG_LEVEL?.trim().toUpperCase();
  const chosen = [lambda === 'FATAL' ? 'CRITICAL' : lambda, env.POWERTOOLS_LOG_LEVEL, env.LOG_LEVEL]
    .map((level) => LOG_LEVELS[level?.trim().toUpperCase() ?? ''])
    .find((level) => level !== undefined);
  return chosen ?? (LOG_LEVELS.INFO as number);
}

/** The X-Ray trace id Lambda sets for each invocation (`Root=1-…;Parent=…;Sampled=…`). */
function traceId(env: NodeJS.ProcessEnv): string | undefined {
  return /(?:^|;)\s*Root=([^;]+)/.exec(env._X_AMZN_TRACE_ID ?? '')?.[1];
}

/** One JSON line per entry: INFO to stdout, WARN and ERROR to stderr, as Powertools' console did. */
export class JsonLogger implements Log {
  readonly #threshold: number;
  readonly #service: string;

  constructor(private readonly env: NodeJS.ProcessEnv = process.env) {
    this.#threshold = logThreshold(env);
    this.#service = serviceName(env);
  }

  info(message: string, extra: Record<string, unknown>): void {
    this.#write('INFO', message, extra);
  }

  warn(message: string, extra: Record<string, unknown>): void {
    this.#write('WARN', message, extra);
  }

  error(message: string, extra: Record<string, unknown>): void {
    this.#write('ERROR', message, extra);
  }

  #write(level: 'INFO' | 'WARN' | 'ERROR', message: string, extra: Record<string, unknown>): void {
    if ((LOG_LEVELS[level] as number) < this.#threshold) return;
    const entry: Record<string, unknown> = {
      level,
      message,
      timestamp: new Date().toISOString(),
      service: this.#service,
      sampling_rate: 0,
      xray_trace_id: traceId(this.env),
    };
    // The keys above cannot be overwritten (Powertools also warned) and empty values are left out.
    for (const [key, value] of Object.entries(extra)) {
      if (!(key in entry)) entry[key] = value;
    }
    for (const key of Object.keys(entry)) {
      if (entry[key] === undefined || entry[key] === null || entry[key] === '') delete entry[key];
    }
    let line: string;
    try {
      line = JSON.stringify(entry, (_key, value: unknown) =>
        typeof value === 'bigint' ? value.toString() : value,
      );
    } catch {
      // A cycle in the attributes: logging must not be what fails the handler.
      line = JSON.stringify({ level, message, timestamp: entry.timestamp, service: this.#service });
    }
    // Looked up at each write: the bench replaces `process.stdout.write` to count log lines.
    (level === 'INFO' ? process.stdout : process.stderr).write(`${line}\n`);
  }
}

export type MetricUnit = 'Count' | 'Milliseconds';

/**
 * Metrics as CloudWatch Embedded Metric Format records on stdout, which Lambda's log pipeline
 * turns into metrics: values accumulate with `addMetric` (a name added twice holds both values)
 * and `publishStoredMetrics` prints them as one record (nothing when none were added, where
 * Powertools printed a warning). `POWERTOOLS_METRICS_DISABLED` (or `POWERTOOLS_DEV`) turns the
 * printing off, as the local stack does.
 */
export class EmbeddedMetrics {
  readonly #namespace: string;
  readonly #service: string;
  readonly #disabled: boolean;
  #stored = new Map<string, { unit: MetricUnit; values: number[] }>();

  constructor(env: NodeJS.ProcessEnv = process.env) {
    this.#namespace = env.POWERTOOLS_METRICS_NAMESPACE || METRICS_NAMESPACE;
    this.#service = serviceName(env);
    const flag = (name: string) => {
      const value = env[name]?.trim().toLowerCase();
      if (value === undefined || value === '') return undefined;
      return ['1', 'y', 'yes', 't', 'true', 'on'].includes(value);
    };
    this.#disabled = flag('POWERTOOLS_METRICS_DISABLED') ?? flag('POWERTOOLS_DEV') ?? false;
  }

  addMetric(name: string, unit: MetricUnit, value: number): void {
    const metric = this.#stored.get(name);
    if (metric) metric.values.push(value);
    else this.#stored.set(name, { unit, values: [value] });
  }

  publishStoredMetrics(): void {
    const stored = [...this.#stored];
    this.#stored = new Map();
    if (this.#disabled || stored.length === 0) return;
    const record = {
      _aws: {
        Timestamp: Date.now(),
        CloudWatchMetrics: [
          {
            Namespace: this.#namespace,
            Dimensions: [['service']],
            Metrics: stored.map(([name, { unit }]) => ({ Name: name, Unit: unit })),
          },
        ],
      },
      service: this.#service,
      ...Object.fromEntries(
        stored.map(([name, { values }]) => [name, values.length === 1 ? values[0] : values]),
      ),
    };
    process.stdout.write(`${JSON.stringify(record)}\n`);
  }
}

/** `env`: the Lambda runtime's variables (log level, metrics switch); the local stack passes its own. */
export function createLogger(env?: NodeJS.ProcessEnv): JsonLogger {
  return new JsonLogger(env);
}

export function createMetrics(env?: NodeJS.ProcessEnv): EmbeddedMetrics {
  return new EmbeddedMetrics(env);
}

/**
 * What may be logged of an unexpected error: its name and, for AWS SDK errors, the HTTP status.
 * Never the error object itself, whose message or fields can quote tokens or claims.
 */
export function errorSummary(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { errorType: typeof error };
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return { errorName: error.name, ...(status ? { httpStatus: status } : {}) };
}
