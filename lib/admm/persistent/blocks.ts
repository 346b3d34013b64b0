/**
 * The ADMMiRNN blocks in METHOD.md's order — (U,W,b), a, s, (V,c), o, then the duals —
 * one function each. Heavy work runs in the native async twins (off the main thread);
 * each block leaves the augmented Lagrangian no larger than before (exact variant: exact
 * block minimisers and a monotone a-solver; linearised: backtracked proximal steps).
 */
import { native } from '../../native';
import type { RNN } from '../../rnn';
import type { AdmmState } from './state';

export interface BlockConfig {
  linearized: boolean;
}

/** Brings XU = U x + b and P = XU + W s_{t-1} up to date with the current weights and states. */
export async function refreshAffine(st: AdmmState, model: RNN): Promise<void> {
  if (!st.xuFresh) {
    await native.inputProjectionAsync({ shape: st.shape, ...st.inputs, U: model.U, b: model.b, out: st.XU });
    st.xuFresh = true;
    st.pFresh = false;
  }
  if (!st.pFresh) {
    await native.recurrentAffineAsync({ shape: st.shape, XU: st.XU, S: st.S, W: model.W, out: st.P });
    st.pFresh = true;
  }
}

/** Block 1: (U, W, b) by regularised least squares of a + μ1 on [x_t; s_{t-1}; 1]. */
export async function updateInputWeights(st: AdmmState, model: RNN, cfg: BlockConfig): Promise<void> {
  // P is stale after this block anyway, so it serves as the scratch for a + μ1.
  st.theta.uwb = await native.solveUWbAsync({
    shape: st.shape,
    ...st.inputs,
    S: st.S,
    A: st.A,
    M1: st.M1,
    scratch: st.P,
    U: model.U,
    W: model.W,
    b: model.b,
    rho1: st.rho[0],
    beta: st.beta,
    linearized: cfg.linearized,
    theta: st.theta.uwb,
  });
  st.xuFresh = false;
  st.pFresh = false;
}

/** Block 2: the pre-activations a, elementwise. */
export async function updatePreactivations(st: AdmmState, model: RNN, cfg: BlockConfig): Promise<void> {
  await refreshAffine(st, model);
  const r = await native.aStepAsync({
    n: st.A.length,
    P: st.P,
    M1: st.M1,
    S: st.S,
    M2: st.M2,
    A: st.A,
    TA: st.TA,
    rho1: st.rho[0],
    rho2: st.rho[1],
    linearized: cfg.linearized,
    theta: st.theta.a,
  });
  st.theta.a = r.theta;
  st.change[0] = r.change;
}

/** Block 3: all states s_t at once. */
export async function updateStates(st: AdmmState, model: RNN, cfg: BlockConfig): Promise<void> {
  await refreshAffine(st, model);  // the s-block needs XU
  // The new states go to P (stale once s changes); the buffers then swap roles.
  const r = await native.sStepAsync({
    shape: st.shape,
    A: st.A,
    TA: st.TA,
    M1: st.M1,
    M2: st.M2,
    XU: st.XU,
    O: st.O,
    M3: st.M3,
    W: model.W,
    V: model.V,
    c: model.c,
    S: st.S,
    out: st.P,
    rho1: st.rho[0],
    rho2: st.rho[1],
    rho3: st.rho[2],
    linearized: cfg.linearized,
    theta: st.theta.s,
  });
  [st.S, st.P] = [st.P, st.S];
  st.pFresh = false;
  st.theta.s = r.theta;
  st.change[1] = r.change;
}

/** Block 4: (V, c) by regularised least squares of o + μ3 on [s_t; 1] over the loss steps. */
export async function updateOutputWeights(st: AdmmState, model: RNN, cfg: BlockConfig): Promise<void> {
  st.theta.vc = await native.solveVcAsync({
    shape: st.shape,
    S: st.S,
    O: st.O,
    M3: st.M3,
    V: model.V,
    c: model.c,
    rho3: st.rho[2],
    beta: st.beta,
    linearized: cfg.linearized,
    theta: st.theta.vc,
  });
}

/** Block 5: the outputs o, by the proximal operator of the loss. */
export async function updateOutputs(st: AdmmState, model: RNN): Promise<void> {
  const common = { shape: st.shape, S: st.S, V: model.V, c: model.c, M3: st.M3, O: st.O, rho3: st.rho[2] };
  st.change[2] =
    st.targets.loss === 'squared-error'
      ? await native.oStepAsync({ ...common, loss: 'squared-error', values: st.targets.values })
      : await native.oStepAsync({ ...common, loss: 'softmax-cross-entropy', labels: st.targets.labels });
}
