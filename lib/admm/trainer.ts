/**
 * AdmmTrainer: trains an RNN with ADMMiRNN (METHOD.md), one method per block, SPORCO-style.
 *
 *   const trainer = new AdmmTrainer(model, { rho: [100, 100, 10] });
 *   const { history, status } = await trainer.fit(data, { maxIterations: 50, onIteration: console.log });
 *
 * fit() never blocks the event loop: the blocks run in native async workers and the
 * TypeScript-side dual updates yield between chunks.
 */
import { type TrainingData, inputLayout, lossForTargets, nativeShape, targetLayout } from '../data';
import { forChunks } from '../chunked';
import { AdmmError, invalidType } from '../errors';
import { summariseLoss } from '../loss';
import { native } from '../native';
import { RNN, type WeightName } from '../rnn';
import { type BlockConfig, updateInputWeights, updateOutputs, updateOutputWeights, updatePreactivations, updateStates } from './blocks';
import { measureAndAscend, rescaleDuals } from './duals';
import { assembleLagrangian, augmentedLagrangian, weightDecay } from './lagrangian';
import { type AdmmTrainerOptions, type FitOptions, type ResolvedFitOptions, type ResolvedTrainerOptions, resolveFitOptions, resolveTrainerOptions } from './options';
import type { AdmmIterationRecord, FitResult, FitStatus } from './record';
import { type Triple, nextRho, rhoIsScheduled } from './rho';
import { AdmmState } from './state';

class Aborted extends Error {}

type Snapshot = Record<WeightName, Float32Array>;

function snapshot(model: RNN): Snapshot {
  const w = model.weights();
  return { U: w.U.slice(), W: w.W.slice(), b: w.b.slice(), V: w.V.slice(), c: w.c.slice() };
}

function firstNonFinite(values: Record<string, number | Float32Array>): string | undefined {
  for (const [name, v] of Object.entries(values)) {
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) return `${name} = ${v}`;
    } else {
      for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i])) return `${name}[${i}] = ${v[i]}`;
    }
  }
  return undefined;
}

export class AdmmTrainer {
  readonly model: RNN;
  readonly options: Readonly<ResolvedTrainerOptions>;
  private st: AdmmState | undefined;
  private running = false;

  constructor(model: RNN, options: AdmmTrainerOptions = {}) {
    if (!(model instanceof RNN)) throw invalidType('model', 'an RNN', model);
    this.model = model;
    this.options = resolveTrainerOptions(options);
  }

  /** The current auxiliaries, duals and ρ (undefined before the first fit or initialise). */
  get state(): AdmmState | undefined {
    return this.st;
  }

  private get blockConfig(): BlockConfig {
    return { linearized: this.options.update === 'linearized' };
  }

  private requireState(): AdmmState {
    if (!this.st) throw new AdmmError('call initialise(data) or fit(data) first', 'ERR_BUSY');
    return this.st;
  }

  /**
   * Validates the data and starts a run: auxiliaries from one forward pass (every constraint
   * holds), duals zero, ρ at its initial value.
   */
  async initialise(data: TrainingData): Promise<AdmmState> {
    const model = this.model;
    const layout = inputLayout('data', data, model);
    const loss = this.options.loss ?? lossForTargets(data.targets);
    if (!loss) throw invalidType('data.targets', 'an Int32Array of class ids or a Float32Array of values', data.targets);
    const shape = nativeShape(model, layout.N, layout.T, this.options.lossSteps);
    const targets = targetLayout('data.targets', data.targets, shape, loss, this.options.lossSteps);
    const beta = this.options.beta ?? 1e-3 * layout.N;
    const st = new AdmmState(shape, layout.native, targets, this.options.lossSteps, this.options.rho, beta);
    await native.forwardAsync({ shape, ...layout.native, ...model.weights(), A: st.A, S: st.S, O: st.O });
    await forChunks(st.S.length, (begin, end) => st.TA.set(st.S.subarray(begin, end), begin));  // TA = tanh(A) = S
    this.st = st;
    return st;
  }

  // ---- the blocks, in METHOD.md's order -------------------------------------------------

  /** Block 1: (U, W, b). */
  updateInputWeights(): Promise<void> {
    return updateInputWeights(this.requireState(), this.model, this.blockConfig);
  }
  /** Block 2: pre-activations a. */
  updatePreactivations(): Promise<void> {
    return updatePreactivations(this.requireState(), this.model, this.blockConfig);
  }
  /** Block 3: states s. */
  updateStates(): Promise<void> {
    return updateStates(this.requireState(), this.model, this.blockConfig);
  }
  /** Block 4: (V, c). */
  updateOutputWeights(): Promise<void> {
    return updateOutputWeights(this.requireState(), this.model, this.blockConfig);
  }
  /** Block 5: outputs o. */
  updateOutputs(): Promise<void> {
    return updateOutputs(this.requireState(), this.model);
  }
  /** Block 6 alone: the dual ascent at the current ρ (no ρ change). */
  async updateDuals(): Promise<void> {
    await measureAndAscend(this.requireState(), this.model, [1, 1, 1], true);
  }
  /** The augmented Lagrangian at the current point (summed-loss scale). */
  lagrangian(): Promise<number> {
    return augmentedLagrangian(this.requireState(), this.model);
  }

  /**
   * One ADMM iteration: the five primal blocks, the dual ascent (block 6), the ρ update,
   * then the true forward-pass loss. Throws if `signal` aborts between blocks.
   */
  async step(signal?: AbortSignal): Promise<AdmmIterationRecord> {
    const st = this.requireState(), model = this.model, cfg = this.blockConfig;
    const started = performance.now();
    const blocks = [
      () => updateInputWeights(st, model, cfg),
      () => updatePreactivations(st, model, cfg),
      () => updateStates(st, model, cfg),
      () => updateOutputWeights(st, model, cfg),
      () => updateOutputs(st, model),
    ];
    for (const block of blocks) {
      if (signal?.aborted) throw new Aborted();
      await block();
    }

    const policy = this.options.rhoPolicy;
    const rho: Triple = [...st.rho];
    const scheduled = rhoIsScheduled(policy);
    let next = scheduled ? nextRho(policy, rho) : rho;
    const norms = await measureAndAscend(st, model, scheduled ? (rho.map((r, i) => r / next[i]) as Triple) : [1, 1, 1], true);
    const auxiliary = summariseLoss(st.O, st.shape.K, st.targets);
    const lagrangian = assembleLagrangian(auxiliary.sum, weightDecay(model, st.beta), rho, norms);

    const primal = norms.map((n) => Math.sqrt(n.residualSq)) as Triple;
    const relative = norms.map((n, i) => primal[i] / Math.max(Math.sqrt(n.leftSq), Math.sqrt(n.rightSq), 1e-30));
    const dual = st.change.map((c, i) => rho[i] * Math.sqrt(c)) as Triple;
    const multiplierNorm = Math.sqrt(norms.reduce((s, n, i) => s + rho[i] * rho[i] * n.dualNewSq, 0));
    if (!scheduled) {
      next = nextRho(policy, rho, { primal, dual });
      await rescaleDuals(st, rho.map((r, i) => r / next[i]) as Triple);
    }
    st.rho = next;

    await native.forwardAsync({ shape: st.shape, ...st.inputs, ...model.weights(), O: st.forwardOutputs });
    const forward = summariseLoss(st.forwardOutputs, st.shape.K, st.targets);
    st.iteration++;
    const seconds = (performance.now() - started) / 1000;
    const classification = st.targets.loss === 'softmax-cross-entropy';
    return {
      iteration: st.iteration,
      loss: forward.sum / forward.count,
      accuracy: classification ? forward.correct / forward.count : NaN,
      auxiliaryLoss: auxiliary.sum / auxiliary.count,
      lagrangian,
      primalResiduals: { a: relative[0], s: relative[1], o: relative[2] },
      dualResidual: Math.hypot(...dual) / Math.max(multiplierNorm, 1e-30),
      rho,
      ...(cfg.linearized ? { theta: { ...st.theta } } : {}),
      seconds,
      elapsed: seconds,
    };
  }

  /**
   * Runs iterations, yielding each record; the generator's return value is the FitResult.
   * Stopping: maxIterations, residual tolerances, loss plateau, AbortSignal, or onIteration
   * returning false. NaN/Inf or a failed factorisation ends the run with the last finite weights.
   */
  async *iterate(data: TrainingData, options: FitOptions = {}): AsyncGenerator<AdmmIterationRecord, FitResult, void> {
    const opts = resolveFitOptions(options);
    if (this.running) throw new AdmmError('AdmmTrainer: a fit is already running on this trainer', 'ERR_BUSY');
    this.model.lock('AdmmTrainer.fit');
    this.running = true;
    const started = performance.now();
    const history: AdmmIterationRecord[] = [];
    const finish = (status: FitStatus, message: string): FitResult => ({
      status,
      message,
      history,
      seconds: (performance.now() - started) / 1000,
    });
    try {
      if (!opts.resume || !this.st) await this.initialise(data);
      else this.checkResumable(data);
      let best = Infinity, sinceBest = 0;
      for (let i = 0; i < opts.maxIterations; i++) {
        if (opts.signal?.aborted) return finish('aborted', 'aborted before iteration ' + (this.requireState().iteration + 1));
        const saved = snapshot(this.model);
        const poisoned = firstNonFinite(saved);
        if (poisoned) return finish('diverged', `model weights are not finite before iteration ${this.requireState().iteration + 1}: ${poisoned}`);
        let record: AdmmIterationRecord;
        try {
          record = await this.step(opts.signal);
        } catch (e) {
          this.model.setWeightsUnchecked(saved);
          return this.failure(e, finish);
        }
        const bad = firstNonFinite({ loss: record.loss, lagrangian: record.lagrangian, ...this.model.weights() });
        if (bad) {
          this.model.setWeightsUnchecked(saved);
          return finish('diverged', `non-finite value at iteration ${record.iteration}: ${bad}; weights of the previous iteration kept`);
        }
        record.elapsed = (performance.now() - started) / 1000;
        history.push(record);

        this.model.unlock();  // the weights are consistent here: callers may predict
        yield record;
        const verdict = opts.onIteration ? await opts.onIteration(record) : undefined;
        this.model.lock('AdmmTrainer.fit');
        if (verdict === false) return finish('stopped', `onIteration returned false at iteration ${record.iteration}`);

        const stop = this.convergence(record, opts);
        if (stop) return finish('converged', stop);
        if (opts.plateau) {
          if (record.loss < best * (1 - opts.plateau.minDelta)) (best = record.loss), (sinceBest = 0);
          else if (++sinceBest >= opts.plateau.patience)
            return finish('plateau', `loss has not improved by ${opts.plateau.minDelta} (relative) for ${sinceBest} iterations`);
        }
      }
      return finish('max-iterations', `reached maxIterations = ${opts.maxIterations}`);
    } finally {
      this.running = false;
      this.model.unlock();
    }
  }

  /** Runs iterate() to the end and returns its FitResult. */
  async fit(data: TrainingData, options: FitOptions = {}): Promise<FitResult> {
    const run = this.iterate(data, options);
    for (;;) {
      const next = await run.next();
      if (next.done) return next.value;
    }
  }

  private convergence(record: AdmmIterationRecord, opts: ResolvedFitOptions): string | undefined {
    const tol = opts.tolerance;
    if (!tol) return undefined;
    const p = record.primalResiduals;
    if (Math.max(p.a, p.s, p.o) <= tol.primal && record.dualResidual <= tol.dual)
      return `relative residuals within tolerance (primal ≤ ${tol.primal}, dual ≤ ${tol.dual})`;
    return undefined;
  }

  private failure(e: unknown, finish: (s: FitStatus, m: string) => FitResult): FitResult {
    const iteration = (this.st?.iteration ?? 0) + 1;
    if (e instanceof Aborted) return finish('aborted', `aborted during iteration ${iteration}; weights of the previous iteration kept`);
    const code = (e as { code?: string }).code;
    const message = (e as Error).message;
    if (code === 'ERR_NOT_POSITIVE_DEFINITE') return finish('singular', `iteration ${iteration}: ${message}`);
    if (code === 'ERR_NON_FINITE') return finish('diverged', `iteration ${iteration}: ${message}`);
    throw e;
  }

  private checkResumable(data: TrainingData): void {
    const st = this.requireState();
    const layout = inputLayout('data', data, this.model);
    if (layout.N !== st.shape.N || layout.T !== st.shape.T || (layout.native.x ?? layout.native.ids) !== (st.inputs.x ?? st.inputs.ids))
      throw invalidType('data', 'the same data the trainer was initialised with (resume: true)', data);
  }
}
