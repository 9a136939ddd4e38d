/** The machine the numbers were taken on, and the memory of the processes the bench watches. */
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export interface MachineInfo {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly node: string;
  readonly os: string;
  readonly kernel: string;
  readonly java: string;
  /** 1-, 5- and 15-minute load averages when the run started (other work on the machine skews numbers). */
  readonly loadAverageAtStart: readonly number[];
  readonly git: { readonly commit: string; readonly uncommittedFiles: number };
}

function osName(): string {
  try {
    const text = readFileSync('/etc/os-release', 'utf8');
    return /^PRETTY_NAME="?([^"\n]*)"?/m.exec(text)?.[1] ?? process.platform;
  } catch {
    return process.platform;
  }
}

function run(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 10_000,
    });
  } catch (error) {
    const { stderr } = error as { stderr?: string };
    return stderr ?? '';
  }
}

/** `java -version` answers on stderr. */
function javaVersion(): string {
  const result = spawnSync('java', ['-version'], { encoding: 'utf8', timeout: 10_000 });
  const first = `${result.stderr ?? ''}${result.stdout ?? ''}`.split('\n')[0]?.trim() ?? '';
  const match = /^(\S+) version "([^"]+)"/.exec(first);
  if (!match) return first || 'unknown';
  return `${match[1] === 'openjdk' ? 'OpenJDK' : 'Java'} ${match[2]}`;
}

export function machineInfo(): MachineInfo {
  const cpu = cpus();
  const commit = run('git', ['rev-parse', 'HEAD']).trim();
  const status = run('git', ['status', '--porcelain']);
  return {
    cpuModel: cpu[0]?.model.trim() ?? 'unknown',
    cores: cpu.length,
    memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    os: osName(),
    kernel: release(),
    java: javaVersion(),
    loadAverageAtStart: loadavg().map((value) => Math.round(value * 100) / 100),
    git: {
      commit: /^[0-9a-f]{40}$/.test(commit) ? commit : 'unknown',
      uncommittedFiles: status.split('\n').filter(Boolean).length,
    },
  };
}

/** Resident set size of a process in MiB, from /proc (undefined once it is gone). */
export function rssMiB(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
    return kb === undefined ? undefined : Number(kb) / 1024;
  } catch {
    return undefined;
  }
}

/** The pid of the first descendant of `root` whose command name is `name` (e.g. DynamoDB Local's `java`). */
export function findDescendant(root: number, name: string): number | undefined {
  const parents = new Map<number, number>();
  const names = new Map<number, string>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split at the last ')'.
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const ppid = Number(stat.slice(close + 2).split(' ')[1]);
      parents.set(Number(entry), ppid);
      names.set(Number(entry), comm);
    } catch {
      // The process ended while we looked.
    }
  }
  const isDescendant = (pid: number): boolean => {
    for (let current = parents.get(pid), hops = 0; current !== undefined && hops < 64; hops++) {
      if (current === root) return true;
      current = parents.get(current);
    }
    return false;
  };
  for (const [pid, comm] of names) if (comm === name && isDescendant(pid)) return pid;
  return undefined;
}

let gc: (() => void) | undefined;

/**
 * A full garbage collection in this process, without `--expose-gc` on the command line: the flag
 * is set at run time, and a fresh context is then created with `gc` among its globals.
 */
export function collectGarbage(): void {
  if (!gc) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  }
  gc();
}
