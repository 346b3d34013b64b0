/** Watches the event loop with a 2 ms timer: the longest gap between ticks shows blocking. */
export class EventLoopMonitor {
  private last = performance.now();
  private started = this.last;
  private worst = 0;
  private ticks = 0;
  private readonly timer = setInterval(() => {
    const now = performance.now();
    this.worst = Math.max(this.worst, now - this.last);
    this.last = now;
    this.ticks++;
  }, 2);

  /** Starts the measurement afresh from now. */
  restart(): void {
    this.started = this.last = performance.now();
    this.worst = this.ticks = 0;
  }

  /** Stops the timer; what it saw since the (re)start. */
  stop(): { seconds: number; worst: number; ticks: number } {
    clearInterval(this.timer);
    return { seconds: (performance.now() - this.started) / 1000, worst: this.worst, ticks: this.ticks };
  }
}
