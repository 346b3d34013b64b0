/**
 * A training budget that can be paused: the clock runs only while the trainer works (not while
 * the runner evaluates the test set), and when it runs out the AbortSignal fires, so a trainer
 * stops between mini-batches or blocks instead of finishing a long epoch.
 * - `wall`: wall-clock seconds (issue 16's rule; other jobs on the machine shorten every run);
 * - `cpu`: CPU seconds of this process, all threads (a shared machine's other jobs do not count,
 *   and a run that uses two threads spends its budget twice as fast). Checked every POLL_MS.
 */
export type Clock = 'wall' | 'cpu';
export const CLOCKS: readonly Clock[] = ['wall', 'cpu'];

/** How often the CPU clock is read while training. */
const POLL_MS = 20;

const now: Record<Clock, () => number> = {
  wall: () => performance.now() / 1000,
  cpu: () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  },
};

export class TrainingBudget {
  readonly controller = new AbortController();
  private used = 0;
  private since: number | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly seconds: number,
    readonly clock: Clock = 'wall'
  ) {
    if (!(seconds > 0) || !Number.isFinite(seconds))
      throw new RangeError(`budget: seconds must be a positive number, got ${seconds}`);
    if (!CLOCKS.includes(clock))
      throw new RangeError(`budget: clock must be one of ${CLOCKS.join(', ')}, got ${String(clock)}`);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Training seconds used so far (including the running stretch). */
  get elapsed(): number {
    return this.used + (this.since === undefined ? 0 : now[this.clock]() - this.since);
  }

  get exhausted(): boolean {
    return this.elapsed >= this.seconds;
  }

  /** Starts (or restarts) the clock; aborts the signal when the remaining seconds are used. */
  start(): void {
    if (this.since !== undefined) return;
    this.since = now[this.clock]();
    if (this.clock === 'cpu') this.timer = setInterval(() => this.abortIfExhausted(), POLL_MS);
    else this.armWallTimer();
  }

  private abortIfExhausted(): boolean {
    if (this.exhausted) this.controller.abort();
    return this.exhausted;
  }

  /** A timer for the remaining seconds, re-armed when it fires early (timers round to milliseconds). */
  private armWallTimer(): void {
    if (this.abortIfExhausted()) return;
    this.timer = setTimeout(() => this.armWallTimer(), Math.max(1, (this.seconds - this.elapsed) * 1000));
  }

  /** Stops the clock; returns the training seconds used so far. */
  pause(): number {
    if (this.since !== undefined) {
      this.used += now[this.clock]() - this.since;
      this.since = undefined;
    }
    clearTimeout(this.timer);
    this.timer = undefined;
    return this.used;
  }
}
