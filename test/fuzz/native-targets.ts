/** Every raw binding of the addon, sync and Async twin, as fuzz targets with small valid arguments. */
import type { Random } from '../../lib';
import { nativeHooks } from '../../lib/internal/test-hooks';
import { bpttNative, native } from '../../lib/native-entry';
import type { Params, Target } from './target';

const f32 = (n: number, rng: Random, scale = 1) => Float32Array.from({ length: n }, () => scale * rng.normal());
const ints = (n: number, bound: number, rng: Random) => Int32Array.from({ length: n }, () => rng.int(bound));

function shapeOf(rng: Random) {
  return {
    N: 1 + rng.int(3),
    T: 2 + rng.int(3),
    d: 1 + rng.int(3),
    h: 1 + rng.int(4),
    K: 2 + rng.int(2),
    everyStep: rng.uniform() < 0.5,
  };
}
type Shape = ReturnType<typeof shapeOf>;
const L = (s: Shape) => (s.everyStep ? s.T : 1);
const hidden = (s: Shape) => s.N * s.T * s.h;
const outs = (s: Shape) => s.N * L(s) * s.K;

function inputs(s: Shape, rng: Random): Params {
  return rng.uniform() < 0.5 ? { x: f32(s.N * s.T * s.d, rng) } : { ids: ints(s.N * s.T, s.d, rng) };
}
function targets(s: Shape, rng: Random): Params {
  return rng.uniform() < 0.5
    ? { loss: 'softmax-cross-entropy', labels: ints(s.N * L(s), s.K, rng) }
    : { loss: 'squared-error', values: f32(outs(s), rng) };
}
function weights(s: Shape, rng: Random): Params {
  return {
    U: f32(s.h * s.d, rng, 0.5),
    W: f32(s.h * s.h, rng, 0.5),
    b: f32(s.h, rng, 0.1),
    V: f32(s.K * s.h, rng, 0.5),
    c: f32(s.K, rng, 0.1),
  };
}
const rho = (rng: Random) => 0.5 + 10 * rng.uniform();
const linear = (rng: Random): Params => (rng.uniform() < 0.5 ? { linearized: true, theta: 1 + rng.uniform() } : {});

interface OpSpec {
  name: string;
  make(rng: Random): Params;
  outputs?: string[];
  optional?: string[];
  integers?: string[];
}

const SHAPE_INTS = ['shape.N', 'shape.T', 'shape.d', 'shape.h', 'shape.K'];
const WEIGHT_STEP_OPTIONAL = ['beta', 'eta', 'linearized', 'theta'];

const OPS: OpSpec[] = [
  {
    name: 'inputProjection',
    outputs: ['out'],
    make: (rng) => {
      const s = shapeOf(rng),
        w = weights(s, rng);
      return { shape: s, ...inputs(s, rng), U: w.U, b: w.b, out: new Float32Array(hidden(s)) };
    },
  },
  {
    name: 'recurrentAffine',
    outputs: ['out'],
    make: (rng) => {
      const s = shapeOf(rng);
      return {
        shape: s,
        XU: f32(hidden(s), rng),
        S: f32(hidden(s), rng),
        W: f32(s.h * s.h, rng),
        out: new Float32Array(hidden(s)),
      };
    },
  },
  {
    name: 'readout',
    outputs: ['out'],
    make: (rng) => {
      const s = shapeOf(rng);
      return {
        shape: s,
        S: f32(hidden(s), rng),
        V: f32(s.K * s.h, rng),
        c: f32(s.K, rng),
        out: new Float32Array(outs(s)),
      };
    },
  },
  {
    name: 'forward',
    outputs: ['A', 'S', 'O'],
    optional: ['A', 'S'],
    make: (rng) => {
      const s = shapeOf(rng);
      return {
        shape: s,
        ...inputs(s, rng),
        ...weights(s, rng),
        A: new Float32Array(hidden(s)),
        S: new Float32Array(hidden(s)),
        O: new Float32Array(outs(s)),
      };
    },
  },
  {
    name: 'solveUWb',
    outputs: ['U', 'W', 'b', 'scratch'],
    optional: WEIGHT_STEP_OPTIONAL,
    make: (rng) => {
      const s = shapeOf(rng),
        w = weights(s, rng),
        n = hidden(s);
      return {
        shape: s,
        ...inputs(s, rng),
        S: f32(n, rng, 0.5),
        A: f32(n, rng),
        M1: f32(n, rng, 0.1),
        scratch: new Float32Array(n),
        U: w.U,
        W: w.W,
        b: w.b,
        rho1: rho(rng),
        beta: 0.1,
        ...linear(rng),
      };
    },
  },
  {
    name: 'solveVc',
    outputs: ['V', 'c'],
    optional: WEIGHT_STEP_OPTIONAL,
    make: (rng) => {
      const s = shapeOf(rng),
        w = weights(s, rng);
      return {
        shape: s,
        S: f32(hidden(s), rng, 0.5),
        O: f32(outs(s), rng),
        M3: f32(outs(s), rng, 0.1),
        V: w.V,
        c: w.c,
        rho3: rho(rng),
        beta: 0.1,
        ...linear(rng),
      };
    },
  },
  {
    // G and R accumulate (+=): they are outputs the op also reads.
    name: 'accumulateUWb',
    outputs: ['G', 'R', 'scratch'],
    make: (rng) => {
      const s = shapeOf(rng),
        n = hidden(s),
        m = s.d + s.h + 1;
      return {
        shape: s,
        ...inputs(s, rng),
        S: f32(n, rng, 0.5),
        A: f32(n, rng),
        M1: f32(n, rng, 0.1),
        scratch: new Float32Array(n),
        G: new Float32Array(m * m),
        R: new Float32Array(s.h * m),
      };
    },
  },
  {
    name: 'solveUWbFromGram',
    outputs: ['U', 'W', 'b'],
    optional: WEIGHT_STEP_OPTIONAL,
    make: (rng) => {
      const s = shapeOf(rng),
        w = weights(s, rng),
        m = s.d + s.h + 1;
      const G = new Float32Array(m * m);
      for (let i = 0; i < m; i++) G[i * m + i] = 1 + rng.uniform(); // SPD
      return { shape: s, G, R: f32(s.h * m, rng), U: w.U, W: w.W, b: w.b, rho1: rho(rng), beta: 0.1, ...linear(rng) };
    },
  },
  {
    name: 'accumulateVc',
    outputs: ['G', 'R'],
    make: (rng) => {
      const s = shapeOf(rng),
        m = s.h + 1;
      return {
        shape: s,
        S: f32(hidden(s), rng, 0.5),
        O: f32(outs(s), rng),
        M3: f32(outs(s), rng, 0.1),
        G: new Float32Array(m * m),
        R: new Float32Array(s.K * m),
      };
    },
  },
  {
    name: 'solveVcFromGram',
    outputs: ['V', 'c'],
    optional: WEIGHT_STEP_OPTIONAL,
    make: (rng) => {
      const s = shapeOf(rng),
        w = weights(s, rng),
        m = s.h + 1;
      const G = new Float32Array(m * m);
      for (let i = 0; i < m; i++) G[i * m + i] = 1 + rng.uniform();
      return { shape: s, G, R: f32(s.K * m, rng), V: w.V, c: w.c, rho3: rho(rng), beta: 0.1, ...linear(rng) };
    },
  },
  {
    name: 'tanh',
    outputs: ['out'],
    integers: ['n'],
    make: (rng) => {
      const n = 1 + rng.int(40);
      return { n, A: f32(n, rng, 3), out: new Float32Array(n) };
    },
  },
  {
    name: 'aStep',
    outputs: ['A', 'TA'],
    optional: ['linearized', 'theta'],
    integers: ['n'],
    make: (rng) => {
      const n = 1 + rng.int(40),
        A = f32(n, rng);
      return {
        n,
        P: f32(n, rng),
        M1: f32(n, rng, 0.1),
        S: f32(n, rng, 0.5),
        M2: f32(n, rng, 0.1),
        A,
        TA: A.map(Math.tanh),
        rho1: rho(rng),
        rho2: rho(rng),
        ...linear(rng),
      };
    },
  },
  {
    name: 'sStep',
    outputs: ['out'],
    optional: ['linearized', 'theta'],
    make: (rng) => {
      const s = shapeOf(rng),
        n = hidden(s),
        w = weights(s, rng),
        A = f32(n, rng);
      return {
        shape: s,
        A,
        TA: A.map(Math.tanh),
        M1: f32(n, rng, 0.1),
        M2: f32(n, rng, 0.1),
        XU: f32(n, rng),
        O: f32(outs(s), rng),
        M3: f32(outs(s), rng, 0.1),
        W: w.W,
        V: w.V,
        c: w.c,
        S: f32(n, rng, 0.5),
        out: new Float32Array(n),
        rho1: rho(rng),
        rho2: rho(rng),
        rho3: rho(rng),
        ...linear(rng),
      };
    },
  },
  {
    name: 'oStep',
    outputs: ['O'],
    make: (rng) => {
      const s = shapeOf(rng),
        w = weights(s, rng);
      return {
        shape: s,
        ...targets(s, rng),
        S: f32(hidden(s), rng, 0.5),
        V: w.V,
        c: w.c,
        M3: f32(outs(s), rng, 0.1),
        O: f32(outs(s), rng),
        rho3: rho(rng),
      };
    },
  },
  {
    name: 'sgemm',
    outputs: ['C'],
    integers: ['m', 'n', 'k'],
    make: (rng) => {
      const m = 1 + rng.int(4),
        n = 1 + rng.int(4),
        k = 1 + rng.int(4);
      return { m, n, k, A: f32(m * k, rng), B: f32(k * n, rng), C: new Float32Array(m * n) };
    },
  },
  {
    name: 'bpttGradients',
    outputs: ['gU', 'gW', 'gb', 'gV', 'gc', 'stepNorms'],
    optional: ['batch', 'batchSize', 'stepNorms', 'scale'],
    integers: ['batchSize'],
    make: (rng) => {
      const s = shapeOf(rng),
        batchSize = 1 + rng.int(s.N);
      return {
        shape: s,
        ...inputs(s, rng),
        ...targets(s, rng),
        ...weights(s, rng),
        batch: ints(batchSize, s.N, rng),
        batchSize,
        gU: new Float32Array(s.h * s.d),
        gW: new Float32Array(s.h * s.h),
        gb: new Float32Array(s.h),
        gV: new Float32Array(s.K * s.h),
        gc: new Float32Array(s.K),
        stepNorms: new Float32Array(s.T),
        scale: 0.5,
      };
    },
  },
  {
    name: 'adjointMultipliers',
    outputs: ['M1', 'M3', 'stepNorms'],
    optional: ['stepNorms'],
    make: (rng) => {
      const s = shapeOf(rng),
        w = weights(s, rng);
      return {
        shape: s,
        ...targets(s, rng),
        S: f32(hidden(s), rng, 0.5),
        O: f32(outs(s), rng),
        W: w.W,
        V: w.V,
        rho1: rho(rng),
        rho3: rho(rng),
        M1: new Float32Array(hidden(s)),
        M3: new Float32Array(outs(s)),
        stepNorms: new Float32Array(s.T),
      };
    },
  },
  {
    name: 'localDualWalk',
    outputs: ['A', 'O', 'M1', 'M3', 'Saux', 'stepNorms'],
    optional: ['stepNorms'],
    integers: ['sweeps'],
    make: (rng) => {
      const s = shapeOf(rng);
      return {
        shape: s,
        ...inputs(s, rng),
        ...targets(s, rng),
        ...weights(s, rng),
        S: f32(hidden(s), rng, 0.5),
        Saux: new Float32Array(hidden(s)),
        A: f32(hidden(s), rng),
        O: f32(outs(s), rng),
        M1: new Float32Array(hidden(s)),
        M3: new Float32Array(outs(s)),
        stepNorms: new Float32Array(s.T),
        rho1: rho(rng),
        rho2: rho(rng),
        rho3: rho(rng),
        sweeps: 1 + rng.int(3),
        gamma: 0.5 + rng.uniform(),
      };
    },
  },
  {
    name: 'bpttLoss',
    optional: ['batch', 'batchSize'],
    integers: ['batchSize'],
    make: (rng) => {
      const s = shapeOf(rng),
        batchSize = 1 + rng.int(s.N);
      return {
        shape: s,
        ...inputs(s, rng),
        ...targets(s, rng),
        ...weights(s, rng),
        batch: ints(batchSize, s.N, rng),
        batchSize,
      };
    },
  },
];

const binding = bpttNative as unknown as Record<string, (o: unknown) => unknown>;
/** The addon's internal object (test-hooks): its ops are in the shipped binary too. */
const internal = nativeHooks as unknown as Record<string, (o: unknown) => unknown>;
/** Ops of the internal object, fuzzed like the binding's (injectFault is not: it would fail every kernel). */
const INTERNAL_OPS: OpSpec[] = [{ ...OPS.find((op) => op.name === 'sgemm')!, name: 'sgemmThreaded' }];

function fieldsOf(p: Params): string[] {
  return Object.keys(p).flatMap((k) =>
    k === 'shape' ? ['shape', ...Object.keys(p.shape as object).map((s) => `shape.${s}`)] : [k]
  );
}

/** The argument object itself, or a replacement for it (whole-argument mutations). */
const argument = (p: Params): unknown => ('__whole' in p ? p.__whole : p);

export function nativeTargets(): Target[] {
  const targets: Target[] = [];
  const ops = [
    ...OPS.map((op) => ({ op, from: binding, prefix: 'native' })),
    ...INTERNAL_OPS.map((op) => ({ op, from: internal, prefix: 'internal' })),
  ];
  for (const { op, from, prefix } of ops)
    for (const async of [false, true]) {
      const fn = from[async ? `${op.name}Async` : op.name];
      if (typeof fn !== 'function') throw new Error(`the addon has no ${prefix}.${op.name}${async ? 'Async' : ''}`);
      targets.push({
        name: `${prefix}.${op.name}${async ? 'Async' : ''}`,
        make: op.make,
        call: (p) => fn(argument(p)),
        fields: fieldsOf,
        optional: [...(op.optional ?? []), 'shape.everyStep'],
        integers: [...SHAPE_INTS, ...(op.integers ?? [])],
        outputs: op.outputs,
        errorPrefix: `${op.name}: `,
        async,
      });
    }
  const saved = native.getThreads();
  targets.push(
    {
      name: 'internal.convexityThreshold',
      make: (rng) => ({ q: 10 * rng.normal() }),
      call: (p) => nativeHooks.convexityThreshold(argument(p) as never),
      fields: fieldsOf,
      errorPrefix: 'convexityThreshold: ',
    },
    {
      name: 'native.setThreads',
      make: () => ({ blas: saved.blas, elementwise: saved.elementwise }),
      // Restore the counts whatever happened, so the rest of the run keeps its speed.
      call: (p) => {
        try {
          return native.setThreads(argument(p) as never);
        } finally {
          native.setThreads(saved);
        }
      },
      fields: fieldsOf,
      optional: ['blas', 'elementwise'],
      integers: ['blas', 'elementwise'],
      errorPrefix: 'setThreads: ',
    },
    {
      name: 'native.getThreads',
      make: () => ({}),
      call: (p) => (native.getThreads as (o: unknown) => unknown)(argument(p)),
      fields: () => [],
    },
    // The scratch memory ops take an empty object. Their byte counts depend on what ran before, so
    // the unmutated call's result is "a byte count".
    ...(['scratchBytes', 'releaseScratch'] as const).flatMap((name) =>
      [false, true].map((async): Target => {
        const fn = binding[async ? `${name}Async` : name];
        const counted = (bytes: unknown) => (Number.isInteger(bytes) && (bytes as number) >= 0 ? 'bytes' : bytes);
        return {
          name: `native.${name}${async ? 'Async' : ''}`,
          make: () => ({}),
          call: (p) => (async ? (fn(argument(p)) as Promise<unknown>).then(counted) : counted(fn(argument(p)))),
          fields: () => [],
          errorPrefix: `${name}: `,
          async,
        };
      })
    )
  );
  return targets;
}
