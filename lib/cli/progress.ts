/**
 * A plain progress bar on stderr: `[=====>     ] 12/50  24%  ETA 1m03s  loss 0.6931  acc 0.512`.
 * On a terminal it redraws one line; otherwise (logs, pipes) it prints a line at the first
 * and last iteration and at most once a second in between.
 */
export interface ProgressOptions {
  total: number;
  stream?: NodeJS.WriteStream;
  quiet?: boolean;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export class ProgressBar {
  private readonly total: number;
  private readonly stream: NodeJS.WriteStream;
  private readonly quiet: boolean;
  private readonly started = performance.now();
  private lastPrint = 0;
  private drawn = false;

  constructor(options: ProgressOptions) {
    this.total = options.total;
    this.stream = options.stream ?? process.stderr;
    this.quiet = options.quiet ?? false;
  }

  /** `done` iterations of this run finished; `metrics` are shown after the ETA. */
  update(done: number, metrics: Record<string, string>): void {
    if (this.quiet) return;
    const elapsed = (performance.now() - this.started) / 1000;
    const eta = done > 0 ? (elapsed / done) * (this.total - done) : Infinity;
    const width = 24,
      filled = this.total > 0 ? Math.min(width, Math.round((done / this.total) * width)) : width;
    const bar =
      '='.repeat(Math.max(0, filled - 1)) +
      (filled > 0 ? (filled === width ? '=' : '>') : '') +
      ' '.repeat(width - filled);
    const percent = this.total > 0 ? Math.floor((100 * done) / this.total) : 100;
    const text =
      `[${bar}] ${done}/${this.total} ${String(percent).padStart(3)}%  ETA ${formatDuration(eta)}  ` +
      Object.entries(metrics)
        .map(([k, v]) => `${k} ${v}`)
        .join('  ');
    if (this.stream.isTTY) {
      this.stream.write(`\r${text.slice(0, (this.stream.columns || 120) - 1)}\x1b[K`);
      this.drawn = true;
    } else if (done <= 1 || done >= this.total || performance.now() - this.lastPrint >= 1000) {
      this.stream.write(text + '\n');
      this.lastPrint = performance.now();
    }
  }

  /** Ends the redrawn line so later messages start on their own line. */
  finish(): void {
    if (this.drawn) this.stream.write('\n');
    this.drawn = false;
  }
}
