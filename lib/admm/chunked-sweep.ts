/**
 * The persistent loop swept chunk by chunk over the samples (block-stochastic in memory, not in
 * the iterate): a, s, o and the duals of one sample never touch another sample's, and the two
 * weight blocks need only Σ Grams and right-hand sides over samples. So one iteration is
 *   Gram(U,W,b) over chunks → solve;  per chunk: XU, P, a, s;  Gram(V,c) over chunks → solve;
 *   per chunk: o;  per chunk: XU, P, tanh a, V s + c → dual ascent and norms,
 * the same block order as the unchunked loop, hence the same iterate up to float rounding.
 * Only A, S, M1, M2 (and the small O, M3) are held for all N; TA, XU, P hold one chunk.
 */
import type { TargetLayout } from '../data';
import { native, type NativeInputs, type NativeShape } from '../native';
import { uwbGram, vcGram } from '../parallel/gram-sum';
import type { RNN } from '../rnn';
import { type ConstraintNorms, ascend, measureAndAscend, stepLayout, sumNorms } from './duals';
import type { Triple } from './rho';
import type { AdmmState } from './state';

/** One chunk's views of the state: every array is a subarray, nothing is copied. */
interface ChunkView {
  shape: NativeShape;
  inputs: NativeInputs;
  targets: TargetLayout;
  A: Float32Array;
  S: Float32Array;
  M1: Float32Array;
  M2: Float32Array;
  O: Float32Array;
  M3: Float32Array;
  readout: Float32Array;
  /** The chunk-sized workspaces, cut to this chunk's length. */
  TA: Float32Array;
  XU: Float32Array;
  P: Float32Array;
}

function* chunks(st: AdmmState): Generator<ChunkView> {
  const { N, T, h, K } = st.shape;
  const L = st.shape.everyStep ? T : 1, d = st.shape.d;
  for (let n0 = 0; n0 < N; n0 += st.chunkRows) {
    const rows = Math.min(st.chunkRows, N - n0);
    const hid = (a: Float32Array) => a.subarray(n0 * T * h, (n0 + rows) * T * h);
    const out = (a: Float32Array) => a.subarray(n0 * L * K, (n0 + rows) * L * K);
    const work = (a: Float32Array) => a.subarray(0, rows * T * h);
    const inputs: NativeInputs = st.inputs.x ? { x: st.inputs.x.subarray(n0 * T * d, (n0 + rows) * T * d) } : { ids: st.inputs.ids!.subarray(n0 * T, (n0 + rows) * T) };
    const targets: TargetLayout =
      st.targets.loss === 'squared-error'
        ? { loss: 'squared-error', values: out(st.targets.values) }
        : { loss: 'softmax-cross-entropy', labels: st.targets.labels.subarray(n0 * L, (n0 + rows) * L) };
    yield {
      shape: { ...st.shape, N: rows }, inputs, targets,
      A: hid(st.A), S: hid(st.S), M1: hid(st.M1), M2: hid(st.M2), O: out(st.O), M3: out(st.M3), readout: out(st.readout),
      TA: work(st.TA), XU: work(st.XU), P: work(st.P),
    };
  }
}

/** XU = U x + b and P = XU + W s_{t-1} for one chunk, with the current weights and states. */
async function chunkAffine(c: ChunkView, model: RNN): Promise<void> {
  await native.inputProjectionAsync({ shape: c.shape, ...c.inputs, U: model.U, b: model.b, out: c.XU });
  await native.recurrentAffineAsync({ shape: c.shape, XU: c.XU, S: c.S, W: model.W, out: c.P });
}

/** Blocks 1–5 of one iteration (exact update), chunk by chunk. `check` runs between blocks (abort). */
export async function chunkedBlocks(st: AdmmState, model: RNN, check: () => void = () => undefined): Promise<void> {
  const rho = st.rho;
  // Block 1: Σ over chunks of the Gram and right-hand side (each chunk's from zero, added in
  // float64 in chunk order: a sharded run with one shard per chunk sums the same), then one solve.
  const uwb = uwbGram(st.shape);
  for (const c of chunks(st)) {
    await native.accumulateUWbAsync({ shape: c.shape, ...c.inputs, S: c.S, A: c.A, M1: c.M1, scratch: c.P, ...uwb.part() });
    uwb.addPart();
  }
  st.theta.uwb = await native.solveUWbFromGramAsync({ shape: st.shape, ...uwb.rounded(), U: model.U, W: model.W, b: model.b, rho1: rho[0], beta: st.beta });
  check();
  // Blocks 2 and 3 per chunk: a chunk's a-step reads only its own old states, as in the full sweep.
  st.change[0] = st.change[1] = 0;
  for (const c of chunks(st)) {
    await chunkAffine(c, model);
    const a = await native.aStepAsync({ n: c.A.length, P: c.P, M1: c.M1, S: c.S, M2: c.M2, A: c.A, TA: c.TA, rho1: rho[0], rho2: rho[1] });
    st.change[0] += a.change;
    // P is consumed by the a-step; it receives the new states, copied into S afterwards.
    const s = await native.sStepAsync({
      shape: c.shape, A: c.A, TA: c.TA, M1: c.M1, M2: c.M2, XU: c.XU, O: c.O, M3: c.M3, W: model.W, V: model.V, c: model.c,
      S: c.S, out: c.P, rho1: rho[0], rho2: rho[1], rho3: rho[2],
    });
    c.S.set(c.P);
    st.change[1] += s.change;
  }
  check();
  // Block 4.
  const vc = vcGram(st.shape);
  for (const c of chunks(st)) {
    await native.accumulateVcAsync({ shape: c.shape, S: c.S, O: c.O, M3: c.M3, ...vc.part() });
    vc.addPart();
  }
  st.theta.vc = await native.solveVcFromGramAsync({ shape: st.shape, ...vc.rounded(), V: model.V, c: model.c, rho3: rho[2], beta: st.beta });
  check();
  // Block 5.
  st.change[2] = 0;
  for (const c of chunks(st)) {
    const common = { shape: c.shape, S: c.S, V: model.V, c: model.c, M3: c.M3, O: c.O, rho3: rho[2] };
    st.change[2] +=
      c.targets.loss === 'squared-error'
        ? await native.oStepAsync({ ...common, loss: 'squared-error', values: c.targets.values })
        : await native.oStepAsync({ ...common, loss: 'softmax-cross-entropy', labels: c.targets.labels });
  }
  st.xuFresh = st.pFresh = false;  // the workspaces hold the last chunk only
}

/** measureAndAscend of duals.ts, chunk by chunk: tanh a is rebuilt with the a-step's own tanh. */
export async function chunkedMeasureAndAscend(st: AdmmState, model: RNN, scale: Triple, apply: boolean): Promise<[ConstraintNorms, ConstraintNorms, ConstraintNorms]> {
  const total = [sumNorms(), sumNorms(), sumNorms()] as [ConstraintNorms, ConstraintNorms, ConstraintNorms];
  for (const c of chunks(st)) {
    await chunkAffine(c, model);
    await native.tanhAsync({ n: c.A.length, A: c.A, out: c.TA });
    await native.readoutAsync({ shape: c.shape, S: c.S, V: model.V, c: model.c, out: c.readout });
    sumNorms(total[0], await ascend(c.A, c.P, c.M1, scale[0], apply, stepLayout(st)));
    sumNorms(total[1], await ascend(c.S, c.TA, c.M2, scale[1], apply));
    sumNorms(total[2], await ascend(c.O, c.readout, c.M3, scale[2], apply));
  }
  st.xuFresh = st.pFresh = false;
  return total;
}

/** The constraint measurement (and dual ascent) for either layout of the state. */
export function measureConstraints(st: AdmmState, model: RNN, scale: Triple, apply: boolean): Promise<[ConstraintNorms, ConstraintNorms, ConstraintNorms]> {
  return st.chunked ? chunkedMeasureAndAscend(st, model, scale, apply) : measureAndAscend(st, model, scale, apply);
}
