/** Plateau stopping: shared by both trainers' fit loops. */
/** Reports when the loss has not improved by a relative minDelta for `patience` iterations. */
export class PlateauDetector {
  private best = Infinity;
  private since = 0;

  constructor(private readonly settings: { patience: number; minDelta: number } | undefined) {}

  /** The stop message, or undefined to continue. */
  update(loss: number): string | undefined {
    const s = this.settings;
    if (!s) return undefined;
    if (loss < this.best * (1 - s.minDelta)) {
      this.best = loss;
      this.since = 0;
      return undefined;
    }
    if (++this.since < s.patience) return undefined;
    return `loss has not improved by ${s.minDelta} (relative) for ${this.since} iterations`;
  }
}
