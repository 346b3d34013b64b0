/** Every exported function and method of the library, as fuzz targets with small valid arguments. */
import {
  AdmmTrainer,
  BpttTrainer,
  RNN,
  Random,
  clipGradNorm,
  createOptimizer,
  getThreads,
  globalNorm,
  loadMnist10k,
  setThreads,
} from '../../lib';
import type { Params, Target } from './target';
import { leafPaths } from './target';

function problem(rng: Random, tokens = rng.uniform() < 0.3, regression = rng.uniform() < 0.3) {
  const N = 2 + rng.int(3),
    T = 2 + rng.int(3),
    d = 1 + rng.int(3),
    h = 1 + rng.int(4),
    K = 2 + rng.int(2);
  const model = new RNN({ inputSize: d, hiddenSize: h, outputSize: K, init: { seed: rng.int(1000) } });
  const inputs = tokens
    ? Int32Array.from({ length: N * T }, () => rng.int(d))
    : Float32Array.from({ length: N * T * d }, () => rng.normal());
  const targets = regression
    ? Float32Array.from({ length: N * K }, () => rng.normal())
    : Int32Array.from({ length: N }, () => rng.int(K));
  return { model, data: { inputs, targets, sequenceLength: T }, sizes: { d, h, K } };
}

const paths = (roots: string[]) => (p: Params) => roots.flatMap((r) => leafPaths(p[r], r));
const DATA_FINITE = ['data.inputs', 'data.targets'];
const DATA_INTS = ['data.sequenceLength'];
/** The trainers name their constructor options 'options.*'. */
const trainerOptions = (path: string) => path.replace(/^trainerOptions/, 'options');

export function libTargets(): Target[] {
  const saved = getThreads();
  return [
    {
      name: 'new RNN',
      make: (rng) => ({
        config: {
          inputSize: 1 + rng.int(3),
          hiddenSize: 1 + rng.int(4),
          outputSize: 1 + rng.int(3),
          init: { scheme: 'glorot', scale: 1, seed: rng.int(9) },
        },
      }),
      call: (p) => new RNN(p.config as never).weights(),
      fields: paths(['config']),
      optional: ['config.init', 'config.init.scheme', 'config.init.scale', 'config.init.seed'],
      integers: ['config.inputSize', 'config.hiddenSize', 'config.outputSize', 'config.init.seed'],
    },
    {
      name: 'RNN.fromJSON',
      make: (rng) => ({ data: problem(rng).model.toJSON() }),
      call: (p) => RNN.fromJSON(p.data).weights(),
      fields: (p) => [...paths(['data'])(p), 'data.weights.U', 'data.weights.c'],
      integers: ['data.inputSize', 'data.hiddenSize', 'data.outputSize', 'data.version'],
      loose: ['data.weights'],
    },
    ...(['predict', 'predictAsync'] as const).map((m): Target => ({
      name: `RNN.${m}`,
      make: (rng) => {
        const { model, data } = problem(rng);
        return {
          model,
          data: { inputs: data.inputs, sequenceLength: data.sequenceLength },
          options: { outputs: rng.uniform() < 0.5 ? 'last' : 'every' },
        };
      },
      call: (p) => (p.model as RNN)[m](p.data as never, p.options as never),
      fields: paths(['data', 'options']),
      optional: ['options', 'options.outputs'],
      integers: DATA_INTS,
      finiteChecked: DATA_FINITE,
    })),
    ...(['evaluate', 'evaluateAsync'] as const).map((m): Target => ({
      name: `RNN.${m}`,
      make: (rng) => {
        const { model, data } = problem(rng);
        return { model, data, options: { lossSteps: 'last' } };
      },
      call: (p) => (p.model as RNN)[m](p.data as never, p.options as never),
      fields: paths(['data', 'options']),
      optional: ['options', 'options.loss', 'options.lossSteps'],
      integers: DATA_INTS,
      finiteChecked: DATA_FINITE,
    })),
    {
      name: 'RNN.setWeights',
      make: (rng) => {
        const { model } = problem(rng);
        return { model, weights: model.clone().weights() };
      },
      call: (p) => {
        (p.model as RNN).setWeights(p.weights as never);
        return (p.model as RNN).weights();
      },
      fields: paths(['weights']),
      optional: ['weights.U', 'weights.W', 'weights.b', 'weights.V', 'weights.c'],
      finiteChecked: ['weights.U', 'weights.W', 'weights.b', 'weights.V', 'weights.c'],
    },
    {
      name: 'AdmmTrainer.fit',
      make: (rng) => {
        const { model, data } = problem(rng);
        return {
          model,
          data,
          trainerOptions: {
            mode: 'persistent',
            rho: [2, 2, 1],
            rhoPolicy: { kind: 'geometric', factor: 1.1, max: 100 },
            beta: 0.01,
            update: rng.uniform() < 0.5 ? 'exact' : 'linearized',
          },
          options: { maxIterations: 1, plateau: { patience: 2 } },
        };
      },
      call: (p) => new AdmmTrainer(p.model as RNN, p.trainerOptions as never).fit(p.data as never, p.options as never),
      fields: paths(['data', 'trainerOptions', 'options']),
      // The trainer's own option names are prefixed 'options.' in its messages.
      optional: [
        'trainerOptions',
        'trainerOptions.mode',
        'options',
        'options.plateau.minDelta',
        'trainerOptions.rho',
        'trainerOptions.rhoPolicy',
        'trainerOptions.rhoPolicy.max',
        'trainerOptions.rhoPolicy.factor',
        'trainerOptions.beta',
        'trainerOptions.update',
        'options.maxIterations',
        'options.plateau',
      ],
      integers: [...DATA_INTS, 'options.maxIterations', 'options.plateau.patience'],
      finiteChecked: DATA_FINITE,
      loose: ['trainerOptions.rho'],
      rename: trainerOptions,
    },
    {
      name: 'BpttTrainer.fit',
      make: (rng) => {
        const { model, data } = problem(rng);
        return {
          model,
          data,
          trainerOptions: { optimizer: { kind: 'adam', lr: 0.01 }, batchSize: 2, seed: 1, clipGradNorm: 5 },
          options: { maxIterations: 1 },
        };
      },
      call: (p) => new BpttTrainer(p.model as RNN, p.trainerOptions as never).fit(p.data as never, p.options as never),
      fields: paths(['data', 'trainerOptions', 'options']),
      optional: [
        'trainerOptions',
        'trainerOptions.mode',
        'options',
        'trainerOptions.optimizer',
        'options.maxIterations',
        'trainerOptions.optimizer.lr',
        'trainerOptions.batchSize',
        'trainerOptions.seed',
        'trainerOptions.clipGradNorm',
      ],
      integers: [...DATA_INTS, 'options.maxIterations', 'trainerOptions.batchSize', 'trainerOptions.seed'],
      finiteChecked: DATA_FINITE,
      rename: trainerOptions,
    },
    {
      name: 'createOptimizer + step',
      make: (rng) => ({
        optimizer: { kind: 'momentum', lr: 0.1, momentum: 0.5 },
        params: [Float32Array.of(1, 2)],
        grads: [Float32Array.of(rng.normal(), 1)],
      }),
      call: (p) => {
        const o = createOptimizer(p.optimizer);
        o.step(p.params as never, p.grads as never);
        return p.params;
      },
      fields: (p) => [...paths(['optimizer'])(p), 'params', 'grads'],
      optional: ['optimizer', 'optimizer.momentum'],
    },
    {
      name: 'globalNorm / clipGradNorm',
      make: (rng) => ({ grads: [Float32Array.of(rng.normal(), 3), Float32Array.of(4)], maxNorm: 2 }),
      call: (p) => [globalNorm(p.grads as never), clipGradNorm(p.grads as never, p.maxNorm as never)],
      fields: () => ['grads', 'maxNorm'],
    },
    {
      name: 'new Random',
      make: (rng) => ({ seed: rng.int(100) }),
      call: (p) => new Random(p.seed as never).uniform(),
      fields: () => ['seed'],
      integers: ['seed'],
    },
    {
      name: 'setThreads',
      make: () => ({ counts: { ...saved } }),
      call: (p) => {
        try {
          return setThreads(p.counts as never);
        } finally {
          setThreads(saved);
        }
      },
      fields: paths(['counts']),
      rename: (path) => (path === 'counts' ? 'options' : path.replace(/^counts\./, '')),
      optional: ['counts.blas', 'counts.elementwise'],
      integers: ['counts.blas', 'counts.elementwise'],
    },
    // Loading reads 10 files: only the rejected option types are fuzzed.
    {
      name: 'loadMnist10k',
      make: () => ({ options: { limit: 10, seed: 1, trainPerDigit: 5 } }),
      call: (p) => loadMnist10k(p.options as never),
      fields: paths(['options']),
      typeOnly: true,
      optional: ['options', 'options.limit', 'options.seed', 'options.trainPerDigit'],
      integers: ['options.limit', 'options.seed', 'options.trainPerDigit'],
    },
  ];
}
