/**
 * The local stack's own log lines (not the handlers': those are Powertools JSON on stdout).
 * They go to stderr so that stdout carries only the banner and the handlers' logs.
 */

export interface LocalLog {
  /** Routine events (connections, deliveries); shown only when verbose. */
  debug(message: string): void;
  warn(message: string): void;
  /** `error` is summarised with its stack: these are local logs, never sent to a client. */
  error(message: string, error?: unknown): void;
}

export function describeError(error: unknown): string {
  if (error instanceof Error) return error.stack ?? `${error.name}: ${error.message}`;
  return String(error);
}

/** Logs to stderr with a `[switchboard]` prefix. */
export function createLocalLog(options: { readonly verbose?: boolean } = {}): LocalLog {
  const write = (line: string) => process.stderr.write(`[switchboard] ${line}\n`);
  return {
    debug: (message) => {
      if (options.verbose) write(message);
    },
    warn: (message) => write(message),
    error: (message, error) => write(error === undefined ? message : `${message}: ${describeError(error)}`),
  };
}

/** Discards everything; for tests that assert on behaviour, not on log lines. */
export const silentLog: LocalLog = { debug: () => {}, warn: () => {}, error: () => {} };
