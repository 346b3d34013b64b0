/**
 * The persistent mode's engine (docs/ALGORITHM.md, the paper's loop): its start from one forward
 * pass (after the readout's warm start, warm-start.ts; with options.dualWalk, duals from the local
 * walk, dual-walk.ts), and one iteration (through the true-loss safeguard, safeguard.ts, unless
 * off) — blocks 1–5 over the state's views, block 6 (the dual ascent and ρ), the true forward-pass
 * loss, and the record with the named residuals; with dualWalk.every, a re-walk after it.
 */
import { AdmmError } from '../../errors';
import { summariseLoss } from '../../loss';
import { native } from '../../native';
import type { RNN } from '../../rnn';
import { sharedInputs, sharedTargets } from '../../in-shared-memory';
import type { TrainingLayout } from '../../training/layout';
import { lossOf } from '../../training/layout';
import type { AdmmEngine } from '../engine';
import type { ResolvedTrainerOptions } from '../options';
import type { PersistentIterationRecord } from '../record';
import type { AdmmStateSnapshot } from '../snapshot';
import {
  type BlockConfig,
  ascendDuals,
  primalBlocks,
  updateDuals,
  updateInputWeights,
  updateOutputs,
  updateOutputWeights,
  updatePreactivations,
  updateStates,
} from './blocks';
import { assembleLagrangian, relativeDual, relativePrimal, weightDecay } from './residuals';
import { walkDuals, walksAfter } from './dual-walk';
import { guardedIteration, resynchronise, rhoBounds } from './safeguard';
import { applySnapshot, takeSnapshot } from './snapshot';
import { AdmmState } from './state';

export class PersistentEngine implements AdmmEngine<PersistentIterationRecord> {
  readonly cfg: BlockConfig;

  private constructor(
    readonly state: AdmmState,
    readonly layout: TrainingLayout,
    private readonly model: RNN,
    private readonly options: Readonly<ResolvedTrainerOptions>
  ) {
    this.cfg = { linearized: options.update === 'linearized' };
  }

  /**
   * A run whose auxiliaries come from one forward pass (every constraint holds), duals zero, ρ
   * initial (the warm start of the readout, if any, is startEngine's, before this). An abort of
   * `signal` during the dual walk throws `aborted()`.
   */
  static async start(
    model: RNN,
    layout: TrainingLayout,
    options: Readonly<ResolvedTrainerOptions>,
    chunkSize: number | undefined,
    warm: boolean,
    signal: AbortSignal | undefined,
    aborted: () => Error
  ): Promise<PersistentEngine> {
    const { shape } = layout;
    // The async kernels would copy data on plain ArrayBuffers at every call (in-shared-memory.ts).
    const inputs = sharedInputs(layout.inputs),
      targets = sharedTargets(layout.targets);
    const sweep = { chunkSize, weightGrams: options.update === 'exact' };
    const st = new AdmmState(shape, inputs, targets, options.lossSteps, options.rho, options.beta * shape.N, sweep);
    await resynchronise(st, model);
    const engine = new PersistentEngine(st, layout, model, options);
    // A run about to be restored takes its duals from the snapshot.
    if (warm && options.dualWalk) await engine.walk(options.dualWalk.scale, signal, aborted);
    return engine;
  }

  /** The duals from the local dual walk at the current point (dual-walk.ts); `signal` stops it. */
  private walk(scale: number, signal: AbortSignal | undefined, aborted: () => Error): Promise<void> {
    const steps = { sweeps: this.options.localSweeps, gamma: this.options.gamma };
    return walkDuals(this.state, this.model.weights(), scale, steps, { signal, aborted });
  }

  get iteration(): number {
    return this.state.iteration;
  }

  mark(): () => void {
    return () => undefined; // a failed iteration leaves the auxiliaries as they are, as it always has
  }

  exportState(): AdmmStateSnapshot {
    return takeSnapshot(this.state);
  }

  restore(snapshot: unknown): void {
    applySnapshot(this.state, snapshot);
  }

  /**
   * Block `block` (1–6, docs/ALGORITHM.md's order) alone on the whole (unchunked) state, recording
   * the auxiliaries' change as an iteration does; block 6 is the dual ascent at the current ρ.
   */
  async runBlock(block: 1 | 2 | 3 | 4 | 5 | 6): Promise<void> {
    const st = this.state,
      model = this.model,
      cfg = this.cfg;
    if (block === 1) await updateInputWeights(st, model, cfg);
    else if (block === 2) st.change[0] = await updatePreactivations(st, st, model, cfg);
    else if (block === 3) st.change[1] = await updateStates(st, st, model, cfg);
    else if (block === 4) await updateOutputWeights(st, model, cfg);
    else if (block === 5) st.change[2] = await updateOutputs(st, st, model);
    else await ascendDuals(st, model, [1, 1, 1], true);
  }

  /** The augmented Lagrangian at the current point, from scratch (duals untouched; summed-loss scale). */
  async lagrangian(): Promise<number> {
    const st = this.state;
    const norms = await ascendDuals(st, this.model, [1, 1, 1], false);
    const loss = summariseLoss(st.O, st.shape.K, st.targets);
    return assembleLagrangian(loss.sum, weightDecay(this.model, st.beta), st.rho, norms);
  }

  async next(signal: AbortSignal | undefined, aborted: () => Error): Promise<PersistentIterationRecord> {
    const guard = this.options.safeguard,
      iterate = () => this.iterate(signal, aborted);
    const bounds = rhoBounds(this.options.rhoPolicy);
    const record = await (guard
      ? guardedIteration(this.state, this.model, this.state.safeguard, guard, bounds, iterate)
      : iterate());
    const walk = this.options.dualWalk;
    if (walk && walksAfter(walk, this.state.iteration)) {
      // Back to the forward point of the new weights, then fresh duals from there. Part of this
      // iteration (its time too): if it fails or is aborted, the fit keeps the weights from before it.
      const started = performance.now();
      try {
        if (signal?.aborted) throw aborted();
        await resynchronise(this.state, this.model);
        await this.walk(walk.scale, signal, aborted);
      } catch (e) {
        this.state.iteration--;
        throw e;
      }
      const seconds = record.seconds + (performance.now() - started) / 1000;
      return { ...record, seconds, elapsed: seconds };
    }
    return record;
  }

  private async iterate(signal: AbortSignal | undefined, aborted: () => Error): Promise<PersistentIterationRecord> {
    const st = this.state,
      model = this.model;
    const started = performance.now();
    await primalBlocks(st, model, this.cfg, () => {
      if (signal?.aborted) throw aborted();
    });
    // The true forward pass reads only the inputs and the (now final) weights, so it runs on a
    // pool thread beside the dual ascent, which keeps the main thread busy in TypeScript.
    const forwardPass = native.forwardAsync({
      shape: st.shape,
      ...st.inputs,
      ...model.weights(),
      O: st.forwardOutputs,
    });
    const duals = updateDuals(st, model, this.options.rhoPolicy).catch(async (e: unknown) => {
      await forwardPass.catch(() => undefined); // never leave the pass writing after a failure
      throw e;
    });
    const [{ rho, norms, residuals }] = await Promise.all([duals, forwardPass]);
    const auxiliary = summariseLoss(st.O, st.shape.K, st.targets);
    const lagrangian = assembleLagrangian(auxiliary.sum, weightDecay(model, st.beta), rho, norms);
    // λ1 = ρ1 μ1 reaching each step (invariant under the rescale, so this iteration's ρ1).
    const stepSignal = Array.from(norms[0].dualNewSqPerStep ?? [], (sq) => rho[0] * Math.sqrt(sq));
    st.iteration++;
    const seconds = (performance.now() - started) / 1000;
    return {
      kind: 'persistent',
      iteration: st.iteration,
      ...lossOf(st.forwardOutputs, st),
      auxiliaryLoss: auxiliary.sum / auxiliary.count,
      lagrangian,
      primalResiduals: relativePrimal(residuals),
      dualResidual: relativeDual(residuals),
      rho,
      stepSignal,
      ...(this.cfg.linearized ? { theta: { ...st.theta } } : {}),
      seconds,
      elapsed: seconds,
    };
  }
}

/** `engine` as the persistent engine that step() and the block methods need (a trainer in `mode`). */
export function requirePersistent(engine: unknown, mode: string, method: string): PersistentEngine {
  if (mode !== 'persistent') {
    const message = `${method} and the block methods belong to mode 'persistent', not '${mode}'; use epoch()`;
    throw new AdmmError(message, 'ERR_WRONG_MODE');
  }
  if (!(engine instanceof PersistentEngine))
    throw new AdmmError('call initialise(data) or fit(data) first', 'ERR_NOT_INITIALISED');
  return engine;
}

/** `engine`, for the single-block methods: a chunked sweep has no whole-data a or s block. */
export function requireWholeState(engine: PersistentEngine): PersistentEngine {
  const st = engine.state;
  if (st.chunked) {
    const message =
      `the single-block methods need the unchunked state (this one sweeps chunks of ${st.chunkRows} sequences, ` +
      'from options.chunkSize or chosen automatically for large data; ' +
      'options.chunkSize ≥ N keeps it whole); use step()';
    throw new AdmmError(message, 'ERR_CHUNKED_STATE');
  }
  return engine;
}
