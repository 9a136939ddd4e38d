/**
 * The TCP sockets a process tree listens on, read from Linux's /proc: each process's socket
 * inodes (`/proc/{pid}/fd`) matched against the LISTEN rows of `/proc/{pid}/net/tcp` and `tcp6`.
 * This sees every listener, including those of children that never report their address (a JVM).
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

export interface Listener {
  readonly pid: number;
  /** `127.0.0.1`, `0.0.0.0`, `::1`, `::`, `::ffff:127.0.0.1`... */
  readonly address: string;
  readonly port: number;
}

/** `pid` and every process below it. */
export function processTree(pid: number): number[] {
  const parents = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ")".
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry)]);
    } catch {
      // The process ended while we looked.
    }
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) tree.push(...(parents.get(tree[i] as number) ?? []));
  return tree;
}

function socketInodes(pid: number): Set<string> {
  const inodes = new Set<string>();
  let fds: string[] = [];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return inodes;
  }
  for (const fd of fds) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match?.[1]) inodes.add(match[1]);
    } catch {
      // Closed meanwhile.
    }
  }
  return inodes;
}

/** /proc/net/tcp writes IPv4 addresses as one little-endian word, IPv6 as four. */
function decodeAddress(hex: string): string {
  const words = (hex.match(/.{8}/g) ?? []).map((word) => Buffer.from(word, 'hex').reverse().toString('hex'));
  if (words.length === 1) return [...Buffer.from(words[0] as string, 'hex')].join('.');
  const v6 = Buffer.from(words.join(''), 'hex');
  if (v6.subarray(0, 10).every((b) => b === 0) && v6[10] === 0xff && v6[11] === 0xff) {
    return `::ffff:${[...v6.subarray(12)].join('.')}`;
  }
  const groups = (v6.toString('hex').match(/.{4}/g) ?? []).map((g) => g.replace(/^0+(?=.)/, ''));
  return groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
}

const LISTEN = '0A';

/** Every TCP socket in LISTEN state that a process of the tree rooted at `pid` holds. */
export function listenersOf(pid: number): Listener[] {
  const listeners: Listener[] = [];
  for (const member of processTree(pid)) {
    const inodes = socketInodes(member);
    if (inodes.size === 0) continue;
    for (const table of ['tcp', 'tcp6']) {
      let rows: string[] = [];
      try {
        rows = readFileSync(`/proc/${member}/net/${table}`, 'utf8').trim().split('\n').slice(1);
      } catch {
        continue;
      }
      for (const row of rows) {
        const fields = row.trim().split(/\s+/);
        const [local, state, inode] = [fields[1], fields[3], fields[9]];
        if (state !== LISTEN || !local || !inode || !inodes.has(inode)) continue;
        const [hex, port] = local.split(':');
        listeners.push({
          pid: member,
          address: decodeAddress(hex ?? ''),
          port: Number.parseInt(port ?? '0', 16),
        });
      }
    }
  }
  return listeners;
}

/** True for 127.0.0.0/8, ::1 and IPv4-mapped 127.0.0.0/8. */
export function isLoopbackAddress(address: string): boolean {
  return /^(::ffff:)?127\./.test(address) || address === '::1';
}
