/** Checkpoints: round trip, the safetensors layout, strict validation, and exact ADMM resume. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { AdmmTrainer, type AdmmStateSnapshot, RNN } from '../lib';
import {
  CHECKPOINT_FORMAT,
  decodeCheckpoint,
  decodeSafetensors,
  encodeCheckpoint,
  encodeSafetensors,
  readCheckpoint,
  saveCheckpoint,
  writeFileAtomic,
  type Checkpoint,
} from '../lib/checkpoint';
import { Vocabulary } from '../lib/text';
import { randomProblem, withoutTimes } from './problems';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'admmirnn-checkpoint-'));
test.after.always(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function trained(iterations = 2) {
  const { model, data } = randomProblem({
    N: 12,
    T: 4,
    d: 5,
    h: 6,
    K: 5,
    lossSteps: 'every',
    loss: 'softmax-cross-entropy',
    tokens: true,
  });
  const trainer = new AdmmTrainer(model, {
    mode: 'persistent',
    lossSteps: 'every',
    update: 'linearized',
    rho: [3, 2, 1],
  });
  const { history } = await trainer.fit(data, { maxIterations: iterations });
  const checkpoint: Checkpoint = {
    model,
    config: { inputSize: 5, hiddenSize: 6, outputSize: 5, init: { scheme: 'normal', scale: 0.5, seed: 1 } },
    vocabulary: Vocabulary.fromText('abcde'),
    task: { source: 'text', sequenceLength: 4, loss: 'softmax-cross-entropy', lossSteps: 'every', inputs: 'ids' },
    trainer: { kind: 'admm', options: { ...trainer.options }, iteration: iterations },
    admmState: trainer.exportState(),
  };
  return { checkpoint, trainer, data, model, history };
}

/** Rewrites a checkpoint's header (and optionally its data) as a valid safetensors file. */
function rewrite(file: Buffer, edit: (header: Record<string, any>) => void, data?: Buffer): Buffer {
  const n = Number(file.readBigUInt64LE(0));
  const header = JSON.parse(file.subarray(8, 8 + n).toString());
  edit(header);
  const json = Buffer.from(JSON.stringify(header));
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([head, json, data ?? file.subarray(8 + n)]);
}

test('a checkpoint round-trips the weights, config, vocabulary, task, trainer and ADMM state', async (t) => {
  const { checkpoint, model } = await trained();
  const file = path.join(tmp, 'round.safetensors');
  await saveCheckpoint(file, checkpoint);
  const back = await readCheckpoint(file);
  for (const name of ['U', 'W', 'b', 'V', 'c'] as const) t.deepEqual(back.model[name], model[name]);
  t.deepEqual(back.config, checkpoint.config);
  t.deepEqual(back.vocabulary!.characters, ['a', 'b', 'c', 'd', 'e']);
  t.deepEqual(back.task, checkpoint.task);
  t.deepEqual(back.trainer, JSON.parse(JSON.stringify(checkpoint.trainer)));
  t.deepEqual(back.admmState, checkpoint.admmState);
  t.is(back.metadata.format, CHECKPOINT_FORMAT);
  t.is(back.metadata.version, '1');
  t.deepEqual(
    fs.readdirSync(tmp).filter((f) => f.startsWith('.round.')),
    []
  );
});

test('the file is plain safetensors: aligned JSON header, dtypes, shapes and offsets that tile the data', async (t) => {
  const { checkpoint } = await trained(1);
  const file = encodeCheckpoint(checkpoint);
  const n = Number(file.readBigUInt64LE(0));
  t.is(n % 8, 0);
  const header = JSON.parse(file.subarray(8, 8 + n).toString());
  t.deepEqual(header['model.U'], { dtype: 'F32', shape: [6, 5], data_offsets: [0, 120] });
  t.is(header.vocabulary.dtype, 'I32');
  t.deepEqual(header['admm.A'].shape, [12, 4, 6]);
  t.deepEqual(header['admm.O'].shape, [12, 4, 5]);
  const ends = Object.entries(header)
    .filter(([k]) => k !== '__metadata__')
    .map(([, v]: [string, any]) => v.data_offsets[1]);
  t.is(Math.max(...ends), file.length - 8 - n);
  t.true(Object.values(header.__metadata__).every((v) => typeof v === 'string'));
});

test('truncated, corrupted, foreign, wrong-version and wrong-shape files are refused with clear errors', async (t) => {
  const { checkpoint } = await trained(1);
  const good = encodeCheckpoint(checkpoint);
  const n = Number(good.readBigUInt64LE(0));
  const refuse = (bytes: Buffer, message: RegExp) =>
    t.throws(() => decodeCheckpoint(bytes, 'ck'), { instanceOf: RangeError, message });
  refuse(good.subarray(0, 5), /at least 8 bytes.*truncated/);
  refuse(good.subarray(0, 8 + n - 3), /complete header.*truncated/);
  refuse(good.subarray(0, good.length - 4), /truncated/);
  refuse(Buffer.concat([good, Buffer.alloc(4)]), /trailing bytes/);
  const notObject = Buffer.from(good);
  notObject[8] = 0x5b; // '[' instead of '{'
  refuse(notObject, /JSON header \(corrupted/);
  const badUtf8 = Buffer.from(good);
  badUtf8[8 + 10] = 0xff;
  refuse(badUtf8, /JSON header \(corrupted/);
  const badJson = Buffer.from(good);
  badJson[8 + n - 1] = 0x2c; // ',' where the header ends
  refuse(badJson, /JSON header \(corrupted/);
  const hugeHeader = Buffer.from(good);
  hugeHeader.writeBigUInt64LE(1n << 40n, 0);
  refuse(hugeHeader, /header length/);
  const flipped = Buffer.from(good);
  flipped[flipped.length - 1] ^= 0x55; // one bit pattern in the data
  refuse(flipped, /sha256.*corrupted/);
  refuse(
    rewrite(good, (h) => (h.__metadata__.version = '2')),
    /version.*"1".*got "2"/
  );
  refuse(
    rewrite(good, (h) => delete h.__metadata__.format),
    /not an admmirnn checkpoint/
  );
  refuse(
    rewrite(good, (h) => (h['model.U'].shape = [5, 6])),
    /model\.U.*shape \[6,5\], got \[5,6\]/
  );
  refuse(
    rewrite(good, (h) => (h['model.U'].dtype = 'F16')),
    /dtype/
  );
  refuse(
    rewrite(good, (h) => (h['model.U'].data_offsets = [4, 124])),
    /tile/
  );
  refuse(
    rewrite(good, (h) => (h.__metadata__.model = '{"inputSize": 5, "hiddenSize": 7, "outputSize": 5}')),
    /model\.U.*shape \[7,5\]/
  );
  refuse(
    rewrite(good, (h) => (h.__metadata__.task = '{oops')),
    /task.*JSON/
  );
  refuse(
    rewrite(good, (h) => (h.__metadata__.admm = '{"iteration": 1, "rho": [1, 2], "theta": {}, "beta": 0}')),
    /rho/
  );
  t.throws(
    () =>
      decodeCheckpoint(
        rewrite(good, (h) => (h.__metadata__.model = '{"inputSize": 0, "hiddenSize": 6, "outputSize": 5}')),
        'ck'
      ),
    { instanceOf: RangeError, message: /inputSize/ }
  );
  // A valid safetensors file with an extra tensor is not an admmirnn checkpoint.
  const extra = encodeSafetensors(new Map([['x', { data: new Float32Array(1), shape: [1] }]]), {});
  refuse(extra, /format/);
  await t.throwsAsync(readCheckpoint(path.join(tmp, 'missing.safetensors')), { code: 'ENOENT' });
  t.throws(() => decodeCheckpoint('nope' as unknown as Buffer), { instanceOf: TypeError, message: /file/ });
});

test('a safetensors file written by another tool (no metadata, padded header, any key order) decodes', (t) => {
  const header = Buffer.from(
    '{"b":{"dtype":"I32","shape":[2],"data_offsets":[8,16]},"a":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]}}   '
  );
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(header.length));
  const file = Buffer.concat([
    head,
    header,
    Buffer.from(new Float32Array([1.5, -2]).buffer),
    Buffer.from(new Int32Array([7, -8]).buffer),
  ]);
  const { tensors, metadata } = decodeSafetensors(file, 'other');
  t.deepEqual(metadata, {});
  t.deepEqual(tensors.get('a'), { data: new Float32Array([1.5, -2]), shape: [1, 2] });
  t.deepEqual(tensors.get('b'), { data: new Int32Array([7, -8]), shape: [2] });
});

test('encodeCheckpoint and the other writers validate their input', async (t) => {
  const model = new RNN({ inputSize: 2, hiddenSize: 3, outputSize: 2 });
  t.throws(() => encodeCheckpoint({ model: {} as RNN, config: { inputSize: 2, hiddenSize: 3, outputSize: 2 } }), {
    instanceOf: TypeError,
    message: /checkpoint\.model/,
  });
  t.throws(() => encodeCheckpoint({ model, config: { inputSize: 2, hiddenSize: 4, outputSize: 2 } }), {
    instanceOf: RangeError,
    message: /checkpoint\.config/,
  });
  t.throws(
    () =>
      encodeCheckpoint({
        model,
        config: { inputSize: 2, hiddenSize: 3, outputSize: 2 },
        vocabulary: Vocabulary.fromText('abc'),
      }),
    { instanceOf: RangeError, message: /vocabulary/ }
  );
  t.throws(() => encodeSafetensors({} as never, {}), { instanceOf: TypeError, message: /tensors/ });
  t.throws(() => encodeSafetensors(new Map(), { a: 1 } as never), { instanceOf: TypeError, message: /metadata\.a/ });
  t.throws(() => decodeSafetensors('x' as never, 'f'), { instanceOf: TypeError, message: /file/ });
  await t.throwsAsync(writeFileAtomic('', []), { instanceOf: TypeError, message: /target/ });
  await t.throwsAsync(saveCheckpoint(42 as never, { model, config: { inputSize: 2, hiddenSize: 3, outputSize: 2 } }), {
    instanceOf: TypeError,
    message: /path/,
  });
});

test('resuming from a saved checkpoint reproduces the uninterrupted run exactly', async (t) => {
  const straight = await trained(4);
  const { checkpoint, data } = await trained(2);
  const file = path.join(tmp, 'resume.safetensors');
  await saveCheckpoint(file, checkpoint);
  const back = await readCheckpoint(file);
  const trainer = new AdmmTrainer(back.model, back.trainer!.options);
  await trainer.restoreState(data, back.admmState!);
  const rest = await trainer.fit(data, { maxIterations: 2, resume: true });
  t.deepEqual(withoutTimes(rest.history), withoutTimes(straight.history.slice(2)));
  t.deepEqual(Array.from(back.model.W), Array.from(straight.model.W));
  t.deepEqual(Array.from(back.model.V), Array.from(straight.model.V));
  t.deepEqual(trainer.exportState(), straight.trainer.exportState());
});

test('an explicitly re-initialised resume starts the auxiliaries afresh from the saved weights', async (t) => {
  const { checkpoint, data } = await trained(2);
  const back = decodeCheckpoint(encodeCheckpoint(checkpoint));
  const trainer = new AdmmTrainer(back.model, back.trainer!.options);
  const { history } = await trainer.fit(data, { maxIterations: 1 });
  t.is(history[0].iteration, 1);
  t.notDeepEqual((trainer.exportState() as AdmmStateSnapshot).M1, (checkpoint.admmState as AdmmStateSnapshot).M1);
});

test('restoreState refuses a snapshot of another size and keeps the previous state', async (t) => {
  const { checkpoint, trainer, data } = await trained(1);
  const before = trainer.exportState();
  const small = { ...checkpoint.admmState!, A: new Float32Array(3) };
  await t.throwsAsync(trainer.restoreState(data, small), { instanceOf: RangeError, message: /snapshot\.A/ });
  t.deepEqual(trainer.exportState(), before);
  await t.throwsAsync(trainer.restoreState(data, { ...checkpoint.admmState!, rho: [1, 0, 1] }), {
    instanceOf: RangeError,
    message: /snapshot\.rho\[1\]/,
  });
  await t.throwsAsync(trainer.restoreState(data, { ...checkpoint.admmState!, iteration: 1.5 }), {
    instanceOf: RangeError,
    message: /snapshot\.iteration/,
  });
});

test('a checkpoint saved before the safeguard had momentum, before step clipping or before the default dual walk resumes without them; a newer one keeps its values', async (t) => {
  const model = new RNN({ inputSize: 2, hiddenSize: 3, outputSize: 2 });
  const config = { inputSize: 2, hiddenSize: 3, outputSize: 2 };
  let files = 0;
  const saved = async (options: Record<string, unknown>) => {
    const file = path.join(tmp, `older-options-${files++}.safetensors`);
    await saveCheckpoint(file, { model, config, trainer: { kind: 'admm', options, iteration: 1 } });
    return (await readCheckpoint(file)).trainer!.options;
  };
  const older = { backoff: 2, relax: 1.1, maxAttempts: 8, maxScale: 1e6, epochTolerance: 0.01, maxEpochAttempts: 3 };
  const unclipped = await saved({ mode: 'adjoint', safeguard: older });
  t.deepEqual(unclipped, { mode: 'adjoint', safeguard: { ...older, momentum: 0 }, stepClip: false, dualWalk: false });
  t.is(new AdmmTrainer(model, unclipped).options.stepClip, false, 'rebuilt without the clip it did not have');
  const newer = { mode: 'adjoint', safeguard: { ...older, momentum: 0.9 }, stepClip: 1.25, dualWalk: false };
  t.deepEqual(await saved(newer), newer);
  t.deepEqual(await saved({ ...newer, stepClip: false }), { ...newer, stepClip: false });
  const unwalked = await saved({ mode: 'persistent', stepClip: false });
  t.is(unwalked.dualWalk, false);
  t.is(new AdmmTrainer(model, unwalked).options.dualWalk, false, 'rebuilt without the walk it did not have');
  const walked = { mode: 'persistent', stepClip: false, dualWalk: { scale: 20, every: 1 } };
  t.deepEqual(await saved(walked), walked);
  // What a trainer saves is read back as it was, and rebuilds the same options.
  for (const mode of ['adjoint', 'persistent'] as const) {
    const options = { ...new AdmmTrainer(model, { mode }).options };
    t.deepEqual(new AdmmTrainer(model, await saved(options)).options, options);
  }
});
