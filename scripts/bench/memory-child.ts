/**
 * One memory configuration, alone in its process so the peak RSS (getrusage maxrss) is its own:
 *   node dist/scripts/bench/memory-child.js MODE N CHUNK BUDGET_SECONDS
 * CHUNK: a chunkSize, 0 for the default (automatic in the persistent mode), -1 for a whole state.
 * Peak = VmHWM. Trains one iteration (persistent) or one epoch (mini-batch modes; stopped after BUDGET seconds
 * of batches — the per-batch buffers are allocated by the first batch — and then followed by the
 * whole-data forward pass that ends an epoch). Prints one JSON line.
 */
import { AdmmTrainer, RNN, type AdmmMode } from '../../lib';
import { statusBytes } from './memory';
import { D, K, T, syntheticData } from './synthetic';

const H = 128,
  BATCH = 128;

async function main(): Promise<void> {
  const [mode, nArg, chunkArg, budgetArg] = process.argv.slice(2);
  const N = Number(nArg),
    chunkNumber = Number(chunkArg),
    budget = Number(budgetArg);
  const chunkSize = chunkNumber < 0 ? 2 ** 31 - 1 : chunkNumber || undefined;
  const baseline = statusBytes('VmRSS'); // node + V8 + the addon and OpenBLAS, before any data
  const data = syntheticData(N);
  const model = new RNN({ inputSize: D, hiddenSize: H, outputSize: K, init: { scale: 0.1, seed: 0 } });
  const persistent = mode === 'persistent';
  const trainer = new AdmmTrainer(model, {
    mode: mode as AdmmMode,
    ...(chunkSize ? { chunkSize } : {}),
    batchSize: BATCH,
  });
  const controller = new AbortController();
  const timer = persistent ? undefined : setTimeout(() => controller.abort(), budget * 1000);
  const started = performance.now();
  const result = await trainer.fit(data, { maxIterations: 1, signal: controller.signal });
  clearTimeout(timer);
  if (result.status === 'aborted') await model.evaluateAsync(data); // the epoch-end forward pass over all N
  const seconds = (performance.now() - started) / 1000;
  // Theoretical working set: weights + auxiliaries (a, s, o) + scaled duals (μ1, μ2, μ3) of the
  // samples held at once (all N in the persistent loop, one batch otherwise).
  const held = persistent ? N : Math.min(BATCH, N);
  const weights = 4 * (H * D + H * H + H + K * H + K);
  const auxDuals = 4 * (4 * held * T * H + 2 * held * K);
  const dataBytes = data.inputs.byteLength + (data.targets as Int32Array).byteLength;
  const st = trainer.state;
  const chunk = !persistent
    ? '—'
    : st?.chunked
      ? `${st.chunkRows}${chunkSize ? '' : ' (auto)'}`
      : chunkSize
        ? 'whole (chunkSize ≥ N)'
        : 'whole (auto)';
  console.log(
    JSON.stringify({
      mode,
      N,
      chunk,
      status: result.status,
      seconds,
      baseline,
      peak: statusBytes('VmHWM'),
      theoretical: weights + auxDuals,
      dataBytes,
    })
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
