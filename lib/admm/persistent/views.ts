/**
 * Views of the persistent state that the sample-separable blocks (a, s, o, the duals) run on.
 * An unchunked state is its own single view. A chunked state (chunkSize < N) is swept chunk by
 * chunk over the sequences (block-stochastic in memory, not in the iterate): a, s, o and the duals
 * of one sample never touch another sample's, and the two weight blocks need only Σ Grams and
 * right-hand sides over samples, so one iteration runs the same blocks in the same order and
 * gives the unchunked iterate up to float rounding. Only A, S, M1, M2 (and the small O, M3) are
 * held for all N; TA, XU, P hold one chunk, so a chunk view rebuilds what it reads of them.
 */
import { type TargetLayout, inputRange, targetRange } from '../../data';
import type { NativeInputs, NativeShape } from '../../native';
import type { AdmmState } from './state';

/** What a block reads and writes of the state, for some of the sequences (or all of them). */
export interface StateView {
  /** The shape of the view: N is its number of sequences. */
  readonly shape: NativeShape;
  readonly inputs: NativeInputs;
  readonly targets: TargetLayout;
  readonly A: Float32Array;
  readonly M1: Float32Array;
  readonly M2: Float32Array;
  readonly O: Float32Array;
  readonly M3: Float32Array;
  /** V s + c on the loss steps (block 6). */
  readonly readout: Float32Array;
  /** tanh(A) (kept in step by the a-block), and the caches XU = U x + b, P = XU + W s_{t-1}. */
  readonly TA: Float32Array;
  readonly XU: Float32Array;
  S: Float32Array;
  P: Float32Array;
  xuFresh: boolean;
  pFresh: boolean;
  /** TA holds tanh(A) of this view (the whole state: always; a chunk view: after its own a-step). */
  taFresh: boolean;
  /** Makes P, where the s-block wrote the new states, the view's states. */
  acceptStates(): void;
}

/** The views one sweep runs the sample-separable blocks on, in sample order: nothing is copied. */
export function* views(st: AdmmState): Generator<StateView> {
  if (!st.chunked) {
    yield st;
    return;
  }
  const { N, T, h, K, d } = st.shape;
  const L = st.shape.everyStep ? T : 1;
  for (let n0 = 0; n0 < N; n0 += st.chunkRows) {
    const rows = Math.min(st.chunkRows, N - n0);
    const hid = (a: Float32Array) => a.subarray(n0 * T * h, (n0 + rows) * T * h);
    const out = (a: Float32Array) => a.subarray(n0 * L * K, (n0 + rows) * L * K);
    const work = (a: Float32Array) => a.subarray(0, rows * T * h);
    const view: StateView = {
      shape: { ...st.shape, N: rows },
      inputs: inputRange(st.inputs, T, d, n0, rows),
      targets: targetRange(st.targets, L, K, n0, rows),
      A: hid(st.A),
      S: hid(st.S),
      M1: hid(st.M1),
      M2: hid(st.M2),
      O: out(st.O),
      M3: out(st.M3),
      readout: out(st.readout),
      TA: work(st.TA),
      XU: work(st.XU),
      P: work(st.P),
      xuFresh: false,
      pFresh: false,
      taFresh: false,
      acceptStates: () => view.S.set(view.P),
    };
    yield view;
  }
  // The workspaces hold the last chunk only.
  st.xuFresh = st.pFresh = false;
}
