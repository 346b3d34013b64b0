/**
 * `admmirnn train`: fit a model with ADMM or BPTT, show progress, save a checkpoint.
 * Ctrl-C stops after the current iteration (so the ADMM state stays consistent), or at once before
 * the first has ended, saves, and exits with 130; a second Ctrl-C exits at once.
 */
import path from 'node:path';
import { type Command, Option } from 'commander';
import { AdmmTrainer } from '../admm/trainer';
import { BpttTrainer } from '../bptt/trainer';
import { MAX_ITERATION, type Checkpoint, type LoadedCheckpoint, type TrainerInfo } from '../checkpoint/format';
import { FileFormatError } from '../file-error';
import { INIT_SCHEMES, type InitScheme } from '../init';
import type { ParallelOptions } from '../parallel/options';
import { RNN, type RNNConfig } from '../rnn';
import { openCheckpoint, savedTrainer } from './checkpoint-file';
import { type DataFlags, addDataOptions, loadData } from './data-options';
import { checkWritable, saveCheckpointTo } from './output-file';
import { committedIteration } from '../parallel/recovery';
import { ProgressBar } from './progress';
import { EXIT, UsageError, asUsage, integer, jsonObject, number, rhoList } from './usage';

interface TrainFlags extends DataFlags {
  out: string;
  resume?: string;
  resetState?: boolean;
  hidden: number;
  init: InitScheme;
  initScale?: number;
  seed: number;
  trainer: 'admm' | 'bptt';
  iterations: number;
  plateau?: number;
  rho?: number | [number, number, number];
  rhoPolicy?: 'fixed' | 'geometric' | 'residual-balancing';
  rhoFactor?: number;
  rhoMax?: number;
  beta?: number;
  update?: 'exact' | 'linearized';
  mode?: string;
  optimizer: 'sgd' | 'momentum' | 'adagrad' | 'rmsprop' | 'adam';
  lr?: number;
  batchSize?: number;
  clipGradNorm?: number;
  shuffleSeed?: number;
  options?: Record<string, unknown>;
  checkpointEvery?: number;
  state: 'auto' | 'always' | 'never';
  quiet?: boolean;
  json?: boolean;
  workers?: number;
  redis?: string;
  run?: string;
  shards?: number;
  staleness?: number;
  shardCheckpoints?: string;
  replacementTimeout?: number;
  lease?: number;
}

const DATA_FLAGS = [
  'mnist',
  'text',
  'labelled',
  'inputs',
  'targets',
  'limit',
  'sequenceLength',
  'stride',
  'split',
  'inputSize',
  'classes',
] as const;
const FILE_FLAGS = new Set(['text', 'labelled', 'inputs', 'targets']);

/** ADMM: options.parallel from --workers (threads) or --redis, --run, --shards (workers load the data as here). */
function parallelOptions(flags: TrainFlags): ParallelOptions | undefined {
  const staleness = flags.staleness !== undefined ? { staleness: flags.staleness } : {};
  const recoveryFlags = [flags.shardCheckpoints, flags.replacementTimeout, flags.lease];
  if (flags.redis === undefined) {
    if (flags.run !== undefined || flags.shards !== undefined)
      throw new UsageError('--run and --shards go with --redis');
    if (recoveryFlags.some((f) => f !== undefined))
      throw new UsageError('--shard-checkpoints, --replacement-timeout and --lease go with --redis');
    if (flags.workers === undefined && flags.staleness !== undefined)
      throw new UsageError('--staleness goes with --workers or --redis');
    return flags.workers === undefined ? undefined : { workers: flags.workers, ...staleness };
  }
  if (flags.workers !== undefined) throw new UsageError('--workers (threads) and --redis exclude each other');
  if (flags.run === undefined || flags.shards === undefined) throw new UsageError('--redis needs --run and --shards');
  // Absolute paths: a worker started from another directory opens the same files.
  const data = Object.fromEntries(
    DATA_FLAGS.filter((k) => flags[k] !== undefined).map((k) => [
      k,
      FILE_FLAGS.has(k) ? path.resolve(String(flags[k])) : flags[k],
    ])
  );
  if (flags.shardCheckpoints === undefined && flags.replacementTimeout !== undefined)
    throw new UsageError('--replacement-timeout goes with --shard-checkpoints');
  const recovery = {
    ...(flags.shardCheckpoints !== undefined
      ? { checkpoints: { dir: path.resolve(flags.shardCheckpoints), every: flags.checkpointEvery ?? 10 } }
      : {}),
    ...(flags.replacementTimeout !== undefined ? { replacementMs: flags.replacementTimeout } : {}),
    ...(flags.lease !== undefined ? { leaseMs: flags.lease } : {}),
    onRecovery: (message: string) => log(flags, `run ${flags.run}: ${message}`),
  };
  return {
    transport: 'redis',
    url: flags.redis,
    run: flags.run,
    shards: flags.shards,
    ...staleness,
    data,
    ...recovery,
  };
}

/** Largest ADMM state saved with --state auto. */
const AUTO_STATE_BYTES = 256 * 2 ** 20;

export function registerTrain(program: Command): void {
  const cmd = program
    .command('train')
    .description('train a model and save it as a checkpoint')
    .option('-o, --out <file>', 'checkpoint to write', 'model.safetensors')
    .option('--resume <checkpoint>', 'continue from a checkpoint (its model, trainer options and run state)')
    .option(
      '--reset-state',
      'with --resume: start the run state (ADMM auxiliaries, duals, ρ, shuffling; ' +
        'BPTT optimizer, shuffling) afresh instead of restoring it'
    )
    .option('--hidden <h>', 'hidden units', integer(1, 1 << 14), 32)
    .addOption(new Option('--init <scheme>', 'weight initialisation').choices(INIT_SCHEMES).default('normal'))
    .option('--init-scale <s>', 'σ (normal), half-width (uniform) or gain (glorot, orthogonal)', number(0))
    .option('--seed <n>', 'seed of the weight initialisation', integer(0, 2 ** 32 - 1), 0)
    .addOption(
      new Option('--trainer <kind>', 'ADMMiRNN or backpropagation through time')
        .choices(['admm', 'bptt'])
        .default('admm')
    )
    .option('-n, --iterations <n>', 'ADMM iterations or BPTT epochs to run', integer(0, 1e9), 10)
    .option('--plateau <n>', 'stop when the training loss has not improved for n iterations', integer(1))
    .option('--rho <r>', 'ADMM: ρ, one number or rho1,rho2,rho3', rhoList)
    .addOption(
      new Option('--rho-policy <policy>', 'ADMM: how ρ changes').choices(['fixed', 'geometric', 'residual-balancing'])
    )
    .option('--rho-factor <f>', 'ADMM: geometric growth factor of ρ', number(0, Infinity, true))
    .option('--rho-max <r>', 'ADMM: largest ρ', number(0, Infinity, true))
    .option('--beta <b>', 'ADMM: weight decay per sample', number(0))
    .addOption(
      new Option('--update <kind>', 'ADMM: exact block minimisation or linearised steps').choices([
        'exact',
        'linearized',
      ])
    )
    .option('--mode <mode>', "ADMM: the trainer's mode (see AdmmTrainerOptions.mode)")
    .addOption(
      new Option('--optimizer <kind>', 'BPTT: optimizer')
        .choices(['sgd', 'momentum', 'adagrad', 'rmsprop', 'adam'])
        .default('adam')
    )
    .option('--lr <rate>', 'BPTT: learning rate', number(0, Infinity, true))
    .option('--batch-size <n>', 'sequences per mini-batch (BPTT and the mini-batch ADMM modes)', integer(1))
    .option('--clip-grad-norm <c>', 'BPTT: clip the global gradient norm', number(0, Infinity, true))
    .option('--shuffle-seed <n>', 'BPTT: seed of the mini-batch shuffling', integer(0, 2 ** 32 - 1))
    .option(
      '--options <json>',
      'trainer options as a JSON object, over the flags above (AdmmTrainerOptions or BpttTrainerOptions; ' +
        `e.g. '{"dualWalk": false}' or '{"stepClip": false, "batchSize": 64}'; sharding is --workers or --redis)`,
      jsonObject
    )
    .option('--checkpoint-every <n>', 'also save the checkpoint every n iterations', integer(1))
    .addOption(
      new Option(
        '--state <when>',
        'save the run state for an exact resume (persistent ADMM: ' +
          'auxiliaries, duals, ρ; mini-batch ADMM: ρ, shuffling; BPTT: optimizer, shuffling); auto: when ≤ 256 MiB'
      )
        .choices(['auto', 'always', 'never'])
        .default('auto')
    )
    .option('-q, --quiet', 'no progress bar')
    .option('--json', 'print the summary as JSON')
    .option('--workers <k>', 'ADMM: shard the run over k worker threads', integer(1, 256))
    .option('--redis <url>', 'ADMM: coordinate a run sharded over Redis (with --run, --shards; see admmirnn worker)')
    .option('--run <name>', "--redis: the run's name, which the workers join")
    .option('--shards <S>', '--redis: the number of shards, one admmirnn worker each', integer(1, 4096))
    .option(
      '--shard-checkpoints <dir>',
      '--redis: recovery checkpoints every --checkpoint-every (default 10) iterations in <dir>, a directory the ' +
        'workers share under the same path; a lost worker is replaced and the run rolls back to the last one, ' +
        'and the same command, run again, continues the run (-n counts from its start)'
    )
    .option(
      '--replacement-timeout <ms>',
      "--shard-checkpoints: how long to wait for a lost worker's replacement",
      integer(0, 2 ** 31 - 1)
    )
    .option(
      '--lease <ms>',
      "--redis: the coordinator's lease TTL (a restarted one waits it out)",
      integer(100, 3_600_000)
    )
    .option(
      '--staleness <τ>',
      'ADMM, sharded: use shard answers up to τ iterations old (0: synchronous)',
      integer(0, 1000)
    );
  addDataOptions(cmd, 'train');
  cmd.action(async (flags: TrainFlags) => {
    process.exitCode = await train(flags);
  });
}

function trainerOptions(flags: TrainFlags, task: { loss: string; lossSteps: string }): TrainerInfo['options'] {
  if (flags.options && 'parallel' in flags.options)
    throw new UsageError('--options: parallel is not set here: shard with --workers or --redis');
  return { ...flagOptions(flags, task), ...flags.options };
}

/** The trainer options the dedicated flags set. */
function flagOptions(flags: TrainFlags, task: { loss: string; lossSteps: string }): TrainerInfo['options'] {
  const common = { loss: task.loss, lossSteps: task.lossSteps };
  if (flags.trainer === 'bptt') {
    return {
      ...common,
      optimizer: { kind: flags.optimizer, ...(flags.lr !== undefined ? { lr: flags.lr } : {}) },
      ...(flags.batchSize !== undefined ? { batchSize: flags.batchSize } : {}),
      ...(flags.clipGradNorm !== undefined ? { clipGradNorm: flags.clipGradNorm } : {}),
      ...(flags.shuffleSeed !== undefined ? { seed: flags.shuffleSeed } : {}),
    };
  }
  const policy =
    flags.rhoPolicy ?? (flags.rhoFactor !== undefined || flags.rhoMax !== undefined ? 'geometric' : undefined);
  return {
    ...common,
    ...(flags.mode !== undefined ? { mode: flags.mode } : {}),
    ...(flags.rho !== undefined ? { rho: flags.rho } : {}),
    ...(policy !== undefined
      ? {
          rhoPolicy: {
            kind: policy,
            ...(flags.rhoFactor !== undefined ? { factor: flags.rhoFactor } : {}),
            ...(flags.rhoMax !== undefined ? { max: flags.rhoMax } : {}),
          },
        }
      : {}),
    ...(flags.beta !== undefined ? { beta: flags.beta } : {}),
    ...(flags.update !== undefined ? { update: flags.update } : {}),
    ...(flags.batchSize !== undefined ? { batchSize: flags.batchSize } : {}),
  };
}

/** What a checkpoint keeps of the trainer's options: not how this run was sharded. */
function savedOptions(options: object): TrainerInfo['options'] {
  const { parallel: _parallel, ...rest } = options as { parallel?: unknown };
  return rest as TrainerInfo['options'];
}

function log(flags: TrainFlags, message: string): void {
  if (!flags.quiet) process.stderr.write(`admmirnn: ${message}\n`);
}

async function train(flags: TrainFlags): Promise<number> {
  if (flags.resetState && !flags.resume) throw new UsageError('--reset-state goes with --resume');
  checkWritable(flags.out);
  const saved: LoadedCheckpoint | undefined = flags.resume ? await openCheckpoint(flags.resume) : undefined;
  const loaded = loadData(flags, saved);
  const { data, task } = loaded;

  let config: RNNConfig, model: RNN;
  if (saved) {
    ({ config, model } = saved);
    if (model.inputSize !== loaded.inputSize || model.outputSize !== loaded.outputSize)
      throw new RangeError(
        `the data has ${loaded.inputSize} inputs and ${loaded.outputSize} outputs, the checkpoint's model ${model.inputSize} and ${model.outputSize}`
      );
  } else {
    config = {
      inputSize: loaded.inputSize,
      hiddenSize: flags.hidden,
      outputSize: loaded.outputSize,
      init: {
        scheme: flags.init,
        seed: flags.seed,
        ...(flags.initScale !== undefined ? { scale: flags.initScale } : {}),
      },
    };
    model = asUsage('model options', () => new RNN(config));
  }

  // On resume the trainer is rebuilt exactly as saved; the command-line trainer flags are ignored.
  const kind = saved?.trainer?.kind ?? flags.trainer;
  const options = saved?.trainer?.options ?? trainerOptions({ ...flags, trainer: kind }, task);
  const base = saved?.trainer?.iteration ?? 0;
  // A count the checkpoint could not hold is refused now, not when the trained model is saved.
  const counted = Math.max(base, saved?.admmState?.iteration ?? 0);
  if (counted + flags.iterations > MAX_ITERATION)
    throw new FileFormatError(
      flags.resume!,
      `${flags.resume}: its iteration count ${counted} leaves no room for ${flags.iterations} more ` +
        `(a checkpoint holds at most ${MAX_ITERATION})`
    );
  let resume = false;
  // Saved options were validated with the checkpoint; errors in them are errors of its file.
  const parallel = parallelOptions(flags);
  if (parallel && kind !== 'admm') throw new UsageError('--workers and --redis go with the ADMM trainer');
  // A sharded run resumes from the saved weights and options; its state starts afresh in the shards.
  // Under bounded staleness a run has no safeguard, whatever the run saved.
  const asynchronous = saved && (parallel?.staleness ?? 0) > 0;
  if (asynchronous && options.safeguard !== false) log(flags, '--staleness > 0: the safeguard is off');
  const unguarded = asynchronous ? { safeguard: false } : {};
  // Nor a persistent dual walk (the shards are at different weights), whatever the run saved.
  const walks = asynchronous && options.mode === 'persistent' && (options as { dualWalk?: unknown }).dualWalk;
  if (walks) log(flags, '--staleness > 0: the dual walk is off');
  const unwalked = walks ? { dualWalk: false } : {};
  const trainer: AdmmTrainer | BpttTrainer =
    saved?.trainer && !parallel
      ? savedTrainer(flags.resume!, saved.trainer, model)
      : asUsage('trainer options', () =>
          kind === 'admm'
            ? new AdmmTrainer(model, { ...options, ...unguarded, ...unwalked, parallel })
            : new BpttTrainer(model, options)
        );
  if (trainer instanceof AdmmTrainer) {
    const admm = trainer;
    const persistent = admm.options.mode === 'persistent';
    if (saved?.admmState && !flags.resetState && !parallel) {
      await admm.restoreState(data, saved.admmState).catch((e: Error) => {
        throw new RangeError(
          `cannot restore the ADMM state of ${flags.resume} on this data (${e.message}); ` +
            `pass --reset-state to start ${persistent ? 'the auxiliaries' : 'ρ and the shuffling'} afresh`
        );
      });
      resume = true;
      const what = persistent ? 'auxiliaries, duals and ρ' : 'ρ and shuffling generator';
      log(flags, `resuming ADMM at iteration ${saved.admmState.iteration} with the saved ${what}`);
    } else if (saved) {
      const fresh = persistent
        ? 'auxiliaries re-initialised by a forward pass, duals zero, ρ initial'
        : `ρ initial, shuffling restarted from seed ${admm.options.seed}`;
      const why = flags.resetState ? '--reset-state:' : parallel ? 'sharded run:' : 'no ADMM state saved;';
      log(flags, `resuming from ${flags.resume}: ${why} ${fresh}`);
    }
  } else if (saved?.bpttState && !flags.resetState) {
    trainer.restoreState(saved.bpttState); // checked against the optimizer by openCheckpoint
    resume = true;
    const epoch = saved.bpttState.iteration;
    log(flags, `resuming BPTT at epoch ${epoch} with the saved optimizer state and shuffling generator`);
  } else if (saved) {
    const why = flags.resetState ? '--reset-state:' : 'no BPTT state saved;';
    log(flags, `resuming from ${flags.resume}: ${why} weights restored, optimizer state and shuffling start afresh`);
  }
  // Ctrl-C stops after the current iteration. Before the first has ended (the persistent warm start
  // and dual walk can take minutes on large data) it aborts the fit at once, which then keeps the
  // weights it began with. A second Ctrl-C quits.
  const controller = new AbortController(),
    beforeFirstIteration = new AbortController();
  let done = 0;
  const onSigint = () => {
    if (controller.signal.aborted) process.exit(EXIT.interrupted);
    controller.abort();
    if (done === 0) beforeFirstIteration.abort();
    const when = done === 0 ? "now, before this run's first iteration ends" : 'after the current iteration';
    process.stderr.write(`\nadmmirnn: interrupted — stopping ${when} (Ctrl-C again to quit now)\n`);
  };
  process.on('SIGINT', onSigint);
  log(
    flags,
    `${kind.toUpperCase()} on ${task.source}: ${data.inputs.length / task.sequenceLength / (task.inputs === 'dense' ? model.inputSize : 1)} sequences, T = ${task.sequenceLength}, d = ${model.inputSize}, h = ${model.hiddenSize}, K = ${model.outputSize}`
  );
  // A sharded run with recovery checkpoints already at iteration k goes on from there (-n counts from its start).
  const recovered =
    parallel && 'checkpoints' in parallel && parallel.checkpoints
      ? ((await committedIteration(parallel.checkpoints.dir, parallel.run)) ?? 0)
      : 0;
  const iterations = Math.max(0, flags.iterations - recovered);
  const progress = new ProgressBar({ total: iterations, quiet: flags.quiet });
  let lastIteration = base + recovered;

  /** Whether to save a run state of `bytes` (mini-batch ADMM: a few numbers; persistent: 7 N·T·h floats). */
  const includeState = (what: string, bytes: number): boolean => {
    if (flags.state === 'never') return false;
    const include = flags.state === 'always' || bytes <= AUTO_STATE_BYTES;
    if (!include) log(flags, `${what} state (${(bytes / 2 ** 20).toFixed(0)} MiB) not saved; --state always saves it`);
    return include;
  };
  const runState = (): Pick<Checkpoint, 'admmState' | 'bpttState'> => {
    if (trainer instanceof BpttTrainer) {
      const state = trainer.exportState(),
        perWeight = state.optimizer.buffers[0]?.length ?? 0;
      return includeState('BPTT', 4 * model.parameterCount * perWeight) ? { bpttState: state } : {};
    }
    if (trainer.options.parallel) return {}; // its state lives in the shards
    if (trainer.options.mode !== 'persistent')
      return includeState('ADMM', 0) ? { admmState: trainer.exportState() } : {};
    const state = trainer.state;
    return state && includeState('ADMM', state.bytes) ? { admmState: trainer.exportState() } : {};
  };
  const checkpoint = (): Checkpoint => ({
    model,
    config,
    vocabulary: loaded.vocabulary,
    task,
    trainer: { kind, options: savedOptions(trainer.options), iteration: lastIteration },
    ...runState(),
  });

  let result;
  try {
    result = await trainer.fit(data, {
      maxIterations: iterations,
      resume,
      signal: beforeFirstIteration.signal,
      ...(flags.plateau ? { plateau: { patience: flags.plateau } } : {}),
      onIteration: async (r) => {
        done++;
        // The run's count continues the checkpoint's, whether or not an ADMM state was restored.
        lastIteration = base + recovered + done;
        progress.update(done, {
          iter: String(lastIteration),
          loss: r.loss.toFixed(4),
          ...(Number.isNaN(r.accuracy) ? {} : { acc: r.accuracy.toFixed(3) }),
          's/it': r.seconds.toFixed(2),
        });
        if (flags.checkpointEvery && done % flags.checkpointEvery === 0 && !controller.signal.aborted)
          await saveCheckpointTo(flags.out, checkpoint());
        return controller.signal.aborted ? false : undefined;
      },
    });
  } finally {
    progress.finish();
    process.off('SIGINT', onSigint);
    // A sharded run's threads, or its Redis workers, stop (its checkpoints carry no run state).
    if (trainer instanceof AdmmTrainer && trainer.options.parallel) await trainer.close();
  }
  await saveCheckpointTo(flags.out, checkpoint());
  const last = result.history[result.history.length - 1];
  const interrupted = controller.signal.aborted;
  const summary = {
    status: interrupted ? 'interrupted' : result.status,
    message: interrupted ? `interrupted after iteration ${lastIteration}` : result.message,
    iteration: lastIteration,
    loss: last?.loss ?? null,
    accuracy: last && !Number.isNaN(last.accuracy) ? last.accuracy : null,
    seconds: result.seconds,
    checkpoint: flags.out,
  };
  if (flags.json) process.stdout.write(JSON.stringify(summary) + '\n');
  else
    process.stdout.write(
      `${summary.status}: ${summary.message}\n` +
        (last
          ? `iteration ${lastIteration}: loss ${last.loss.toFixed(4)}${summary.accuracy !== null ? `, accuracy ${summary.accuracy.toFixed(4)}` : ''}\n`
          : '') +
        `saved ${flags.out}\n`
    );
  if (interrupted) return EXIT.interrupted;
  return result.status === 'diverged' || result.status === 'singular' ? EXIT.failure : EXIT.ok;
}
