/**
 * Epochs of 'local-duals' next to 'adjoint' (the default) in one process, on mnist10k at h = 128,
 * from the same initial weights and shuffling seed (the demo's: N(0, 0.1²), seed 0; `--seed` another), the two
 * modes alternating round by round so that both see the same machine load. Inside 'local-duals'
 * each native stage of a mini-batch (forward pass, walk, (U, W, b) solve, (V, c) solve) is timed
 * by wrapping its binding call for the duration of the run.
 *
 *   node dist/scripts/bench/local-duals.js [--epochs 3] [--rounds 2] [--seed 0]
 */
import { parseArgs } from 'node:util';
import { AdmmTrainer, RNN, loadMnist10k, type AdmmMode } from '../../lib/index';
import { native } from '../../lib/native';

const STAGES = [
  'forwardAsync',
  'adjointMultipliersAsync',
  'localDualWalkAsync',
  'solveUWbAsync',
  'solveVcAsync',
] as const;
type Stage = (typeof STAGES)[number];

export interface ModeEpochs {
  mode: AdmmMode;
  seconds: number[];
  /** Test accuracy after each epoch. */
  accuracy: number[];
  /** Seconds inside each native stage, summed over all epochs. */
  stages: Record<Stage, number>;
}

/** Trains `epochs` epochs of one mode (init and shuffling from `seed`) and times its native stages. */
export async function timeMode(mode: AdmmMode, epochs: number, seed = 0): Promise<ModeEpochs> {
  const { train, test } = loadMnist10k({ seed: 0 });
  const init = { scheme: 'normal', scale: 0.1, seed } as const;
  const model = new RNN({ inputSize: 28, hiddenSize: 128, outputSize: 10, init });
  const stages = Object.fromEntries(STAGES.map((s) => [s, 0])) as Record<Stage, number>;
  const binding = native as unknown as Record<Stage, (args: unknown) => Promise<unknown>>;
  const originals = STAGES.map((name) => binding[name]);
  STAGES.forEach((name, i) => {
    binding[name] = async (args: unknown) => {
      const t0 = process.hrtime.bigint();
      try {
        return await originals[i](args);
      } finally {
        stages[name] += Number(process.hrtime.bigint() - t0) / 1e9;
      }
    };
  });
  const accuracy: number[] = [];
  try {
    const result = await new AdmmTrainer(model, { mode, seed }).fit(train, {
      maxIterations: epochs,
      onIteration: () => void accuracy.push(model.evaluate(test).accuracy),
    });
    if (result.history.length !== epochs) throw new Error(`${mode} epochs: ${result.status} (${result.message})`);
    return { mode, seconds: result.history.map((r) => r.seconds), accuracy, stages };
  } finally {
    STAGES.forEach((name, i) => (binding[name] = originals[i]));
  }
}

export interface LocalDualsComparison {
  adjoint: ModeEpochs;
  localDuals: ModeEpochs;
  /** Fastest epoch of 'local-duals' over the fastest of 'adjoint', over all rounds. */
  ratio: number;
  /** Both modes' time to the accuracy both reach (the lower of their best), and its ratio. */
  sameAccuracy: { accuracy: number; adjoint: ToAccuracy; localDuals: ToAccuracy; ratio: number };
}

/** Seconds of training (the kept round's epochs) until the test accuracy first reached a level. */
export interface ToAccuracy {
  epochs: number;
  seconds: number;
}

/** Epoch granularity: the epochs up to the first whose test accuracy is ≥ `accuracy`. */
function toAccuracy(m: Pick<ModeEpochs, 'seconds' | 'accuracy'>, accuracy: number): ToAccuracy {
  const epochs = m.accuracy.findIndex((a) => a >= accuracy) + 1;
  return { epochs, seconds: m.seconds.slice(0, epochs).reduce((a, b) => a + b, 0) };
}

/** Both modes' time to the lower of their best test accuracies, and local-duals' over adjoint's. */
export function sameAccuracy(
  adjoint: Pick<ModeEpochs, 'seconds' | 'accuracy'>,
  localDuals: Pick<ModeEpochs, 'seconds' | 'accuracy'>
): LocalDualsComparison['sameAccuracy'] {
  const accuracy = Math.min(Math.max(...adjoint.accuracy), Math.max(...localDuals.accuracy));
  const [a, l] = [toAccuracy(adjoint, accuracy), toAccuracy(localDuals, accuracy)];
  return { accuracy, adjoint: a, localDuals: l, ratio: l.seconds / a.seconds };
}

/** `rounds` alternating runs of both modes; each mode keeps its round with the fastest epoch. */
export async function compareLocalDuals(epochs: number, rounds: number, seed = 0): Promise<LocalDualsComparison> {
  let adjoint: ModeEpochs | undefined, localDuals: ModeEpochs | undefined;
  const fastest = (m: ModeEpochs) => Math.min(...m.seconds);
  const faster = (a: ModeEpochs | undefined, b: ModeEpochs) => (a && fastest(a) <= fastest(b) ? a : b);
  for (let r = 0; r < rounds; r++) {
    adjoint = faster(adjoint, await timeMode('adjoint', epochs, seed));
    localDuals = faster(localDuals, await timeMode('local-duals', epochs, seed));
  }
  const ratio = Math.min(...localDuals!.seconds) / Math.min(...adjoint!.seconds);
  return { adjoint: adjoint!, localDuals: localDuals!, ratio, sameAccuracy: sameAccuracy(adjoint!, localDuals!) };
}

/**
 * A markdown table (epoch seconds, test accuracy after each epoch, native stage seconds per epoch),
 * then the two ratios: per epoch, and to the same accuracy.
 */
export function formatComparison(c: LocalDualsComparison): string[] {
  const same = c.sameAccuracy;
  const row = (m: ModeEpochs) => {
    const perEpoch = STAGES.map((s) => (m.stages[s] > 0 ? (m.stages[s] / m.seconds.length).toFixed(3) : '–'));
    const seconds = m.seconds.map((s) => s.toFixed(2)).join(' ');
    const accuracy = m.accuracy.map((a) => a.toFixed(3)).join(' ');
    return `| '${m.mode}' | ${seconds} | ${accuracy} | ${perEpoch.join(' | ')} |`;
  };
  return [
    '| mode | epoch seconds | test accuracy after each epoch | forward | adjoint | walk | (U, W, b) | (V, c) |',
    '|---|---|---|---:|---:|---:|---:|---:|',
    row(c.adjoint),
    row(c.localDuals),
    '',
    'Stage columns: seconds per epoch inside each native call (forward pass, multipliers, solves).',
    '',
    `local-duals / adjoint epoch ratio: ${c.ratio.toFixed(2)}`,
    `local-duals / adjoint seconds to test accuracy ${same.accuracy.toFixed(3)} (the lower of the two ` +
      `modes' best): ${same.localDuals.seconds.toFixed(2)} s (${same.localDuals.epochs} epochs) / ` +
      `${same.adjoint.seconds.toFixed(2)} s (${same.adjoint.epochs} epochs) = ${same.ratio.toFixed(2)}`,
  ];
}

if (require.main === module) {
  const options = {
    epochs: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '2' },
    seed: { type: 'string', default: '0' },
  } as const;
  const { values } = parseArgs({ options });
  compareLocalDuals(Number(values.epochs), Number(values.rounds), Number(values.seed))
    .then((c) => {
      for (const line of formatComparison(c)) console.log(line);
    })
    .catch((e) => {
      console.error(e);
      process.exit(1);
    });
}
