/**
 * The command line of every `npm run <command>` in cli/: Node's `util.parseArgs` in strict mode,
 * `--help` / `-h` printing the usage, and one way to refuse bad arguments: the reason and the usage
 * on stderr, exit code 2.
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;

export type Values<O extends Options> = ReturnType<typeof parseArgs<{ options: O; strict: true }>>['values'];

/**
 * Refuses the arguments: `message` and the usage on stderr, exit code 2. Each command wraps it in a
 * `function fail(message: string): never` of its own, so TypeScript narrows after a call.
 */
export function refuse(usage: string, message: string): never {
  process.stderr.write(`${message}\n${usage}\n`);
  process.exit(2);
}

/** Parses `args` against `options`; exits for `--help` (0) and for arguments it cannot parse (2). */
export function commandLine<O extends Options>(
  usage: string,
  options: O,
  args: string[] = process.argv.slice(2),
): Values<O> {
  let values: Values<O>;
  try {
    ({ values } = parseArgs({ args, options, strict: true }));
  } catch (error) {
    return refuse(usage, (error as Error).message);
  }
  if ((values as Record<string, unknown>).help === true) {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  return values;
}

/** The `--help` / `-h` flag every command takes. */
export const HELP_OPTION = { help: { type: 'boolean', short: 'h' } } as const;
