/**
 * The terminal, as the bench itself writes to it. While the local stack runs in this process its
 * handlers log to stdout and stderr (Powertools JSON, SDK and metrics warnings); `bench-stack.ts`
 * captures those, so the bench's own output goes through the writers saved here, at import,
 * before anything replaced them.
 */

export interface Sink {
  write(text: string): void;
  readonly isTTY: boolean;
  columns(): number;
}

const stdoutWrite = process.stdout.write.bind(process.stdout);
const stderrWrite = process.stderr.write.bind(process.stderr);

/** The progress bar, warnings and errors. */
export const stderrSink: Sink = {
  write: (text) => {
    stderrWrite(text);
  },
  isTTY: process.stderr.isTTY === true && process.env.TERM !== 'dumb',
  columns: () => process.stderr.columns ?? 100,
};

/** The final Markdown summary. */
export function writeStdout(text: string): Promise<void> {
  return new Promise((resolve) => stdoutWrite(text, () => resolve()));
}
