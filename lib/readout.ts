/**
 * Readout refit: the best (V, c) for the model's current forward states, with U, W, b fixed.
 * Softmax cross-entropy: L-BFGS on the convex multinomial logistic regression; squared error:
 * ridge regression in closed form. Fitted on the untrained network it gives the
 * "readout-only floor" every ADMM result must be compared with (docs/ALGORITHM.md).
 */
import { type LossSteps, type TrainingData, LOSS_STEPS, inputRange, nativeShape } from './data';
import { type TrainingLayout, trainingLayout } from './training/layout';
import { SLICE, yieldToEventLoop } from './yielding';
import { sharedFloats } from './in-shared-memory';
import { type ForwardArgs, native } from './native';
import { lbfgsIterations } from './optim/lbfgs';
import type { RNN } from './rnn';
import { checkChoice, checkInteger, checkNumber, checkOptionalObject } from './validate';

export interface ReadoutOptions {
  lossSteps?: LossSteps;
  /** L2 penalty on V per loss term (default 1e-4): the objective is mean loss + beta/2‖V‖². */
  beta?: number;
  /** L-BFGS iterations (cross-entropy only; default 300). */
  maxIterations?: number;
}

/**
 * The refit's work as a generator that the two drivers below run: it yields each forward pass (an
 * evaluation batch of sequences) for the driver to run, and `undefined` between slices of its own
 * loops and after every L-BFGS iteration, where the async driver yields to the event loop. Both
 * give the same result bit for bit. Its two products per evaluation stay synchronous: as sgemmAsync,
 * on a pool thread, they took more CPU and wall time (BENCHMARKS.md, "Readout refit").
 */
type RefitSteps<T> = Generator<ForwardArgs | undefined, T, void>;

function runSync<T>(steps: RefitSteps<T>): T {
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
    if (next.value) native.forward(next.value);
  }
}

/** `interrupt`: called after every await; a stop it throws ends the refit with the model untouched. */
async function runAsync<T>(steps: RefitSteps<T>, interrupt?: () => void): Promise<T> {
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
    if (next.value) await native.forwardAsync(next.value);
    else await yieldToEventLoop();
    interrupt?.();
  }
}

/** Forward states at the loss steps, [rows, h], computed in evaluation batches of sequences. */
export function lossStepStates(model: RNN, data: TrainingData, lossSteps: LossSteps): Float32Array {
  const layout = trainingLayout(data, model, { loss: undefined, lossSteps });
  return runSync(lossStepStateSteps(model, layout, (n) => new Float32Array(n)));
}

/** `allocate`: the forward pass's outputs (the refit's on shared memory: forwardAsync copies no batch). */
function* lossStepStateSteps(
  model: RNN,
  layout: TrainingLayout,
  allocate: (n: number) => Float32Array
): RefitSteps<Float32Array> {
  const { N, T } = layout.shape,
    lossSteps = layout.lossSteps;
  const h = model.hiddenSize,
    L = lossSteps === 'every' ? T : 1;
  const features = new Float32Array(N * L * h);
  const batch = Math.max(1, Math.min(N, Math.floor(2 ** 22 / (T * h))));
  const S = allocate(batch * T * h),
    O = allocate(batch * L * model.outputSize);
  for (let n0 = 0; n0 < N; n0 += batch) {
    const n = Math.min(batch, N - n0);
    const inputs = inputRange(layout.inputs, T, model.inputSize, n0, n);
    const outputs = { S: S.subarray(0, n * T * h), O: O.subarray(0, n * L * model.outputSize) };
    yield { shape: nativeShape(model, n, T, lossSteps), ...inputs, ...model.weights(), ...outputs };
    for (let i = 0; i < n; i++)
      for (let l = 0; l < L; l++) {
        const t = lossSteps === 'every' ? l : T - 1;
        features.set(S.subarray((i * T + t) * h, (i * T + t + 1) * h), ((n0 + i) * L + l) * h);
      }
  }
  return features;
}

interface RefitSettings {
  beta: number;
  maxIterations: number;
}

function refitSettings(options: ReadoutOptions): RefitSettings & { lossSteps: LossSteps } {
  checkOptionalObject('options', options);
  const { lossSteps, beta, maxIterations } = options;
  return {
    lossSteps: lossSteps === undefined ? 'last' : checkChoice('options.lossSteps', lossSteps, LOSS_STEPS),
    beta: beta === undefined ? 1e-4 : checkNumber('options.beta', beta, 0),
    maxIterations: maxIterations === undefined ? 300 : checkInteger('options.maxIterations', maxIterations, 1),
  };
}

/** Refits V and c in place; returns the final mean training loss of the refit objective. */
export function refitReadout(model: RNN, data: TrainingData, options: ReadoutOptions = {}): number {
  const settings = refitSettings(options);
  const layout = trainingLayout(data, model, { loss: undefined, lossSteps: settings.lossSteps });
  return runSync(refitSteps(model, layout, settings));
}

/** As refitReadout, yielding to the event loop between forward batches and L-BFGS iterations. @internal */
export async function refitReadoutAsync(model: RNN, data: TrainingData, options: ReadoutOptions = {}): Promise<number> {
  const settings = refitSettings(options);
  const layout = trainingLayout(data, model, { loss: undefined, lossSteps: settings.lossSteps });
  return runAsync(refitSteps(model, layout, settings));
}

/**
 * refitReadoutAsync on data already validated (a trainer's run), with the default iterations and
 * β unless `options.beta` / `options.maxIterations`; the targets' own loss and the layout's loss
 * steps. `options.interrupt` runs at every yield to the event loop (between forward batches and
 * L-BFGS iterations): what it throws stops the refit there, before (V, c) is written. @internal
 */
export function refitLayoutAsync(
  model: RNN,
  layout: TrainingLayout,
  options: Pick<ReadoutOptions, 'beta' | 'maxIterations'> & { interrupt?: () => void } = {}
): Promise<number> {
  const { beta, maxIterations } = options;
  return runAsync(refitSteps(model, layout, refitSettings({ beta, maxIterations })), options.interrupt);
}

function* refitSteps(model: RNN, layout: TrainingLayout, { beta, maxIterations }: RefitSettings): RefitSteps<number> {
  const F = yield* lossStepStateSteps(model, layout, sharedFloats);
  const h = model.hiddenSize,
    K = model.outputSize,
    rows = F.length / h;
  const targets = layout.targets;
  if (targets.loss === 'squared-error') {
    // Ridge regression: the (V, c) block solve with target y, ρ = 1, no duals.
    const shape = { N: rows, T: 1, d: 1, h, K, everyStep: false };
    native.solveVc({
      shape,
      S: F,
      O: targets.values,
      M3: new Float32Array(rows * K),
      V: model.V,
      c: model.c,
      rho3: 1,
      beta: beta * rows,
    });
    let sum = 0;
    const out = new Float32Array(rows * K);
    native.readout({ shape, S: F, V: model.V, c: model.c, out });
    for (let i = 0; i < out.length; i++) sum += 0.5 * (out[i] - targets.values[i]) ** 2;
    return sum / rows;
  }
  // x = [V (K×h row-major) | c (K)], objective mean CE + beta/2 ‖V‖².
  const x = new Float64Array(K * h + K);
  for (let i = 0; i < K * h; i++) x[i] = model.V[i];
  for (let k = 0; k < K; k++) x[K * h + k] = model.c[k];
  const Vt = new Float32Array(h * K),
    logits = new Float32Array(rows * K),
    Ft = new Float32Array(h * rows),
    gT = new Float32Array(h * K);
  // The long loops run in slices of rows with a pause between them (the async driver yields to
  // the event loop there); the order of every sum is that of one pass. The slices' loops stay plain
  // functions, as the unsliced loops were, out of the generator's body (BENCHMARKS.md, "Readout refit").
  const sliceRows = Math.max(1, Math.floor(SLICE / Math.max(h, K)));
  const transpose = (r0: number, end: number) => {
    for (let r = r0; r < end; r++) for (let i = 0; i < h; i++) Ft[i * rows + r] = F[r * h + i];
  };
  const labels = targets.labels;
  /** Rows [r0, end) of the softmax loss added to `f`, their ∂f/∂logit into logits and g's c part. */
  const softmaxRows = (p: Float64Array, g: Float64Array, f: number, r0: number, end: number): number => {
    for (let r = r0; r < end; r++) {
      let max = -Infinity;
      for (let k = 0; k < K; k++) max = Math.max(max, (logits[r * K + k] += p[K * h + k]));
      let z = 0;
      for (let k = 0; k < K; k++) z += Math.exp(logits[r * K + k] - max);
      f += max + Math.log(z) - logits[r * K + labels[r]];
      for (let k = 0; k < K; k++) {
        const d = (Math.exp(logits[r * K + k] - max) / z - (k === labels[r] ? 1 : 0)) / rows;
        logits[r * K + k] = d; // reuse as ∂f/∂logit
        g[K * h + k] += d;
      }
    }
    return f;
  };
  for (let r0 = 0; r0 < rows; r0 += sliceRows) {
    if (r0 > 0) yield undefined;
    transpose(r0, Math.min(rows, r0 + sliceRows));
  }
  function* evaluate(p: Float64Array, g: Float64Array): Generator<undefined, number, void> {
    for (let k = 0; k < K; k++) for (let i = 0; i < h; i++) Vt[i * K + k] = p[k * h + i];
    native.sgemm({ m: rows, n: K, k: h, A: F, B: Vt, C: logits });
    let f = 0;
    g.fill(0);
    for (let r0 = 0; r0 < rows; r0 += sliceRows) {
      if (r0 > 0) yield undefined;
      f = softmaxRows(p, g, f, r0, Math.min(rows, r0 + sliceRows));
    }
    native.sgemm({ m: h, n: K, k: rows, A: Ft, B: logits, C: gT });
    let penalty = 0;
    for (let k = 0; k < K; k++)
      for (let i = 0; i < h; i++) {
        const v = p[k * h + i];
        g[k * h + i] = gT[i * K + k] + beta * v;
        penalty += v * v;
      }
    return f / rows + 0.5 * beta * penalty;
  }
  const value = yield* lbfgsIterations(x, evaluate, { maxIterations, gradientTolerance: 1e-7 });
  for (let i = 0; i < K * h; i++) model.V[i] = x[i];
  for (let k = 0; k < K; k++) model.c[k] = x[K * h + k];
  return value;
}
