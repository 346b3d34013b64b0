import { performance, type EventLoopUtilization } from 'node:perf_hooks';

/**
 * Watches the event loop with a 2 ms timer. Blocking is the loop's busy time between two ticks
 * (from `performance.eventLoopUtilization`), not the wall-clock gap: on a loaded machine a thread
 * that waits for a core lengthens the gap while the loop sits idle in its poll, and that is the
 * scheduler, not this process blocking its loop. The gap is kept for the log.
 */
export class EventLoopMonitor {
  private last = performance.now();
  private lastUse: EventLoopUtilization = performance.eventLoopUtilization();
  private started = this.last;
  private worst = 0;
  private worstGap = 0;
  private ticks = 0;
  private readonly timer = setInterval(() => {
    const now = performance.now();
    const use = performance.eventLoopUtilization();
    this.worst = Math.max(this.worst, performance.eventLoopUtilization(use, this.lastUse).active);
    this.worstGap = Math.max(this.worstGap, now - this.last);
    this.last = now;
    this.lastUse = use;
    this.ticks++;
  }, 2);

  /** Starts the measurement afresh from now. */
  restart(): void {
    this.started = this.last = performance.now();
    this.lastUse = performance.eventLoopUtilization();
    this.worst = this.worstGap = this.ticks = 0;
  }

  /**
   * Stops the timer; what it saw since the (re)start: `worst` is the longest busy stretch between
   * two ticks (ms), `gap` the longest wall-clock gap (ms).
   */
  stop(): { seconds: number; worst: number; gap: number; ticks: number } {
    clearInterval(this.timer);
    const seconds = (performance.now() - this.started) / 1000;
    return { seconds, worst: this.worst, gap: this.worstGap, ticks: this.ticks };
  }
}
