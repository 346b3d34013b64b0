/**
 * The persistent mode's run (METHOD.md): its start from one forward pass, and one iteration —
 * the five primal blocks (swept in chunks of sequences on a chunked state), the dual ascent and
 * the ρ update (block 6), the true forward-pass loss, and the record with the residuals.
 */
import { forChunks } from '../chunked';
import { summariseLoss } from '../loss';
import { native, type NativeInputs, type NativeShape } from '../native';
import type { TargetLayout } from '../data';
import { shardData } from '../parallel/split';
import type { RNN } from '../rnn';
import {
  type BlockConfig, updateInputWeights, updateOutputs, updateOutputWeights, updatePreactivations, updateStates,
} from './blocks';
import { chunkedBlocks, measureConstraints } from './chunked-sweep';
import { rescaleDuals } from './duals';
import { assembleLagrangian, weightDecay } from './lagrangian';
import type { ResolvedTrainerOptions } from './options';
import type { AdmmIterationRecord } from './record';
import { type Triple, nextRho, rhoIsScheduled } from './rho';
import { AdmmState } from './state';

/** A state whose auxiliaries come from one forward pass (every constraint holds), duals zero, ρ initial. */
export async function startPersistentRun(
  model: RNN,
  shape: NativeShape,
  inputs: NativeInputs,
  targets: TargetLayout,
  options: Readonly<ResolvedTrainerOptions>,
  chunkSize: number | undefined
): Promise<AdmmState> {
  const st = new AdmmState(shape, inputs, targets, options.lossSteps, options.rho, options.beta * shape.N, chunkSize);
  // A chunked state starts chunk by chunk, as a parallel run's shards do: the forward pass's
  // rounding depends on how its rows are blocked, so this keeps the two runs bit for bit equal.
  const L = shape.everyStep ? shape.T : 1, hidden = shape.T * shape.h;
  for (let n0 = 0; n0 < shape.N; n0 += st.chunkRows) {
    const n1 = Math.min(shape.N, n0 + st.chunkRows), rows = shardData(shape, inputs, targets, options.lossSteps, n0, n1);
    const A = st.A.subarray(n0 * hidden, n1 * hidden), S = st.S.subarray(n0 * hidden, n1 * hidden);
    await native.forwardAsync({ shape: rows.shape, ...rows.inputs, ...model.weights(), A, S, O: st.O.subarray(n0 * L * shape.K, n1 * L * shape.K) });
  }
  // TA = tanh(A) = S (a chunked state rebuilds its chunk of TA wherever it is read).
  if (!st.chunked) await forChunks(st.S.length, (begin, end) => st.TA.set(st.S.subarray(begin, end), begin));
  return st;
}

/** Runs the iteration on `st`; throws `aborted()` if `signal` aborts between blocks. */
export async function persistentIteration(
  st: AdmmState,
  model: RNN,
  options: Readonly<ResolvedTrainerOptions>,
  signal: AbortSignal | undefined,
  aborted: () => Error
): Promise<AdmmIterationRecord> {
  const cfg: BlockConfig = { linearized: options.update === 'linearized' };
  const started = performance.now();
  const blocks = [
    () => updateInputWeights(st, model, cfg),
    () => updatePreactivations(st, model, cfg),
    () => updateStates(st, model, cfg),
    () => updateOutputWeights(st, model, cfg),
    () => updateOutputs(st, model),
  ];
  const check = () => {
    if (signal?.aborted) throw aborted();
  };
  if (st.chunked) await chunkedBlocks(st, model, check);
  else
    for (const block of blocks) {
      check();
      await block();
    }

  // The true forward pass reads only the inputs and the (now final) weights, so it runs on a
  // pool thread beside the dual ascent, which keeps the main thread busy in TypeScript.
  const forwardPass = native.forwardAsync({ shape: st.shape, ...st.inputs, ...model.weights(), O: st.forwardOutputs });
  const duals = ascendDuals(st, model, options.rhoPolicy).catch(async (e: unknown) => {
    await forwardPass.catch(() => undefined);  // never leave the pass writing after a failure
    throw e;
  });
  const [ascent] = await Promise.all([duals, forwardPass]);
  const { rho, lagrangian, auxiliary, relative, dual, multiplierNorm, stepSignal } = ascent;
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
    stepSignal,
    ...(cfg.linearized ? { theta: { ...st.theta } } : {}),
    seconds,
    elapsed: seconds,
  };
}

/** Block 6: the dual ascent and the ρ update, with the norms the record reports. */
async function ascendDuals(st: AdmmState, model: RNN, policy: ResolvedTrainerOptions['rhoPolicy']) {
  const rho: Triple = [...st.rho];
  const scheduled = rhoIsScheduled(policy);
  let next = scheduled ? nextRho(policy, rho) : rho;
  const rescale: Triple = scheduled ? (rho.map((r, i) => r / next[i]) as Triple) : [1, 1, 1];
  const norms = await measureConstraints(st, model, rescale, true);
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
  // λ1 = ρ1 μ1 reaching each step (invariant under the rescale, so this iteration's ρ1).
  const stepSignal = Array.from(norms[0].dualNewSqPerStep ?? [], (sq) => rho[0] * Math.sqrt(sq));
  return { rho, lagrangian, auxiliary, relative, dual, multiplierNorm, stepSignal };
}
