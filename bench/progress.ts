import { type Sink, stderrSink } from './output.js';

/**
 * A progress bar on stderr, a few lines of ANSI: one line redrawn in place on a terminal, and
 * plain lines (at most one per stage step) when stderr is a file or a CI log.
 */

export interface StagePlan {
  readonly name: string;
  /** Expected share of the run (roughly seconds); only the ratios matter. */
  readonly weight: number;
}

const BAR_WIDTH = 28;
const REDRAW_MS = 100;

function clock(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  return `${String(Math.floor(seconds / 60)).padStart(2, '0')}:${String(seconds % 60).padStart(2, '0')}`;
}

export class Progress {
  private readonly started = Date.now();
  private readonly total: number;
  private readonly tty: boolean;
  private index = -1;
  private fraction = 0;
  private detail = '';
  private lastDraw = 0;
  private lastPlainDetail = '';
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly stages: readonly StagePlan[],
    private readonly stream: Sink = stderrSink,
  ) {
    this.total = stages.reduce((sum, stage) => sum + stage.weight, 0) || 1;
    this.tty = stream.isTTY;
    // Keeps the elapsed time moving while a stage waits on something slow.
    if (this.tty) {
      this.timer = setInterval(() => this.draw(true), 1000);
      this.timer.unref();
    }
  }

  /** Starts the named stage (it must be one of the plan's). */
  stage(name: string, detail = ''): void {
    const index = this.stages.findIndex((stage) => stage.name === name);
    if (index < 0) throw new Error(`progress: no stage named ${name}`);
    this.index = index;
    this.fraction = 0;
    this.detail = detail;
    if (!this.tty) this.plain(`» ${name}${detail ? `: ${detail}` : ''}`);
    this.draw(true);
  }

  /** Progress within the current stage, 0..1, and what it is doing. */
  update(fraction: number, detail?: string): void {
    this.fraction = Math.min(1, Math.max(0, fraction));
    if (detail !== undefined) this.detail = detail;
    if (!this.tty && detail !== undefined) {
      // One plain line per tenth of a stage at most.
      const bucket = `${this.index}:${Math.floor(this.fraction * 10)}`;
      if (bucket !== this.lastPlainDetail) {
        this.lastPlainDetail = bucket;
        this.plain(`  ${this.currentName()}: ${detail}`);
      }
      return;
    }
    this.draw(false);
  }

  /** A line above the bar (results of a stage, warnings). */
  log(line: string): void {
    if (this.tty) this.stream.write('\r\x1b[2K');
    this.stream.write(`${line}\n`);
    this.draw(true);
  }

  /** Removes the bar; nothing is drawn afterwards. */
  done(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.tty) this.stream.write('\r\x1b[2K');
    this.index = -2;
  }

  private currentName(): string {
    return this.stages[this.index]?.name ?? '';
  }

  private overall(): number {
    let completed = 0;
    for (let i = 0; i < this.index; i++) completed += this.stages[i]?.weight ?? 0;
    const current = (this.stages[this.index]?.weight ?? 0) * this.fraction;
    return Math.min(1, (completed + current) / this.total);
  }

  private draw(force: boolean): void {
    if (!this.tty || this.index < 0) return;
    const now = Date.now();
    if (!force && now - this.lastDraw < REDRAW_MS) return;
    this.lastDraw = now;
    const share = this.overall();
    const filled = Math.round(share * BAR_WIDTH);
    const bar = `${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}`;
    const head = `${bar} ${String(Math.round(share * 100)).padStart(3)}% ${clock(now - this.started)} ${this.currentName()}`;
    const columns = this.stream.columns();
    const line = `${head}${this.detail ? ` · ${this.detail}` : ''}`;
    this.stream.write(`\r\x1b[2K${line.length > columns - 1 ? `${line.slice(0, columns - 2)}…` : line}`);
  }

  private plain(line: string): void {
    this.stream.write(`[${clock(Date.now() - this.started)}] ${line}\n`);
  }
}
