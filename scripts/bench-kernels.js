#!/usr/bin/env node
// Per-kernel timings of one exact ADMM iteration on mnist (N=8000, T=28, h=128), for
// profiling the native kernels. Run after `npx tsc -p tsconfig.json` and a native build:
//   node scripts/bench-kernels.js [blasThreads] [elementwiseThreads] [repeats]
// Prints the minimum over the repeats (ms) of each block; the machine is usually shared,
// so minima are more stable than means.
'use strict';
const path = require('path');
const root = path.resolve(__dirname, '..');
const { RNN, AdmmTrainer, loadMnist10k, native } = require(path.join(root, 'dist/lib'));
const blocks = require(path.join(root, 'dist/lib/admm/persistent/blocks'));

(async () => {
  const [blas = 2, elementwise = 2, repeats = 3] = process.argv.slice(2).map(Number);
  native.setThreads({ blas, elementwise });
  const { train } = loadMnist10k();
  const model = new RNN({ inputSize: 28, hiddenSize: 128, outputSize: 10, init: { seed: 1 } });
  const trainer = new AdmmTrainer(model, {});
  await trainer.initialise(train);
  const st = trainer.state;
  const cfg = { linearized: false };
  const best = new Map();
  const time = async (name, f) => {
    const t = performance.now();
    await f();
    const ms = performance.now() - t;
    best.set(name, Math.min(best.get(name) ?? Infinity, ms));
  };
  const A0 = st.A.slice();
  for (let r = 0; r < repeats; ++r) {
    await time('uwb', () => blocks.updateInputWeights(st, model, cfg));
    await time('inputProjection', () =>
      native.inputProjectionAsync({ shape: st.shape, ...st.inputs, U: model.U, b: model.b, out: st.XU })
    );
    await time('recurrentAffine', () =>
      native.recurrentAffineAsync({ shape: st.shape, XU: st.XU, S: st.S, W: model.W, out: st.P })
    );
    st.xuFresh = st.pFresh = true;
    st.A.set(A0); // same a-step problem every repeat
    await time('aStep', () => blocks.updatePreactivations(st, st, model, cfg));
    await time('sStep', () => blocks.updateStates(st, st, model, cfg));
    await time('forward', () =>
      native.forwardAsync({ shape: st.shape, ...st.inputs, ...model.weights(), O: st.forwardOutputs })
    );
  }
  console.log(
    `blas ${blas} elementwise ${elementwise} (min of ${repeats}, ms):`,
    [...best].map(([k, v]) => `${k} ${v.toFixed(0)}`).join(' | ')
  );
})();
