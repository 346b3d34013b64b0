/**
 * What scripts/asan.sh runs under AddressSanitizer + UBSan: the short fuzz run, every fuzz
 * regression case, every buffer-transfer case (buffers transferred or collected while async
 * work uses them), small ADMM and BPTT fits of each variant (dense and token inputs, loss at the
 * last and at every step, exact and linearised), and fits large enough for several row blocks.
 * Exits non-zero if any part fails.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { AdmmTrainer, BpttTrainer, RNN, Random, nativeScratchBytes } from '../lib';
import { CASES } from '../test/fuzz/regressions';
import { TRANSFER_CASES } from '../test/fuzz/transfer-cases';
import { runFuzz } from '../test/fuzz/spawn';
import { randomProblem } from '../test/problems';

async function fits(): Promise<void> {
  for (const tokens of [false, true])
    for (const lossSteps of ['last', 'every'] as const)
      for (const update of ['exact', 'linearized'] as const) {
        const N = 12,
          T = 4,
          d = 3,
          h = 5,
          K = 3,
          rng = new Random(3),
          L = lossSteps === 'every' ? T : 1;
        const data = {
          inputs: tokens
            ? Int32Array.from({ length: N * T }, () => rng.int(d))
            : Float32Array.from({ length: N * T * d }, () => rng.normal()),
          targets: Int32Array.from({ length: N * L }, () => rng.int(K)),
          sequenceLength: T,
        };
        const model = new RNN({ inputSize: d, hiddenSize: h, outputSize: K });
        const a = await new AdmmTrainer(model, { mode: 'persistent', lossSteps, update }).fit(data, {
          maxIterations: 5,
        });
        const b = await new BpttTrainer(model, { lossSteps, batchSize: 5 }).fit(data, { maxIterations: 3 });
        await model.predictAsync(data, { outputs: lossSteps });
        console.log(`fit ${tokens ? 'tokens' : 'dense'} ${lossSteps} ${update}: ADMM ${a.status}, BPTT ${b.status}`);
      }
}

// Enough rows for several row blocks and forward chunks, so the kernels' parallelBlocks paths
// (two workers, per-worker scratch, per-part Grams) run under the sanitizers too.
async function blockFits(): Promise<void> {
  for (const tokens of [false, true])
    for (const chunkSize of [undefined, 700]) {
      const N = 2100,
        T = 4,
        d = 3,
        h = 5,
        K = 3,
        rng = new Random(5);
      const data = {
        inputs: tokens
          ? Int32Array.from({ length: N * T }, () => rng.int(d))
          : Float32Array.from({ length: N * T * d }, () => rng.normal()),
        targets: Int32Array.from({ length: N }, () => rng.int(K)),
        sequenceLength: T,
      };
      const model = new RNN({ inputSize: d, hiddenSize: h, outputSize: K });
      const r = await new AdmmTrainer(model, { mode: 'persistent', chunkSize }).fit(data, { maxIterations: 2 });
      await model.predictAsync(data);
      console.log(`block fit ${tokens ? 'tokens' : 'dense'} chunkSize ${chunkSize ?? 'none'}: ADMM ${r.status}`);
    }
}

// The mini-batch modes (the local dual walk, 'sweeps' after it), also sharded over worker threads:
// shard threads allocate scratch buffers and exit with them registered (native/scratch.cpp), and
// every fit frees the buffers of every thread when it ends.
async function miniBatchFits(): Promise<void> {
  const spec = { N: 96, T: 5, d: 3, h: 6, K: 3, lossSteps: 'last', loss: 'softmax-cross-entropy', seed: 9 } as const;
  for (const mode of ['adjoint', 'local-duals', 'sweeps'] as const)
    for (const parallel of [undefined, { workers: 2 }]) {
      const { model, data } = randomProblem(spec);
      const r = await new AdmmTrainer(model, { mode, batchSize: 16, parallel }).fit(data, { maxIterations: 2 });
      const held = await nativeScratchBytes();
      console.log(`mini-batch fit ${mode}${parallel ? ', 2 shard threads' : ''}: ${r.status}, scratch after ${held}`);
    }
}

async function main(): Promise<void> {
  let failed = false;
  const fuzz = runFuzz(1, 1500);
  console.log(
    `fuzz: ${fuzz.summary?.calls ?? 0} calls, ${fuzz.summary?.violations ?? '?'} violations, exit ${fuzz.signal ?? fuzz.status}`
  );
  if (fuzz.status !== 0) {
    failed = true;
    console.log(fuzz.stderr);
  }
  for (const name of Object.keys(CASES)) {
    const r = spawnSync(process.execPath, [path.join(__dirname, '..', 'test', 'fuzz', 'regressions.js'), name], {
      encoding: 'utf8',
    });
    if (r.status !== 0 || /Sanitizer|runtime error/.test(r.stderr)) {
      failed = true;
      console.log(`regression '${name}': exit ${r.signal ?? r.status}\n${r.stderr}`);
    }
  }
  console.log(`regression cases: ${Object.keys(CASES).length} run`);
  for (const name of Object.keys(TRANSFER_CASES)) {
    const child = path.join(__dirname, '..', 'test', 'fuzz', 'transfer-cases.js');
    const r = spawnSync(process.execPath, ['--expose-gc', child, name], { encoding: 'utf8' });
    const report = r.status === 0 ? JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') : undefined;
    const clean = report?.outcome === 'ok' && report.problems.length === 0 && !/Sanitizer|runtime error/.test(r.stderr);
    if (clean) continue;
    failed = true;
    console.log(`transfer case '${name}': exit ${r.signal ?? r.status}\n${r.stdout}\n${r.stderr}`);
  }
  console.log(`buffer-transfer cases: ${Object.keys(TRANSFER_CASES).length} run`);
  await fits();
  await blockFits();
  await miniBatchFits();
  process.exitCode = failed ? 1 : 0;
}

void main();
