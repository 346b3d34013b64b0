/** Atomic saves: a writer killed with SIGKILL mid-save leaves the previous checkpoint intact. */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { readCheckpoint, saveCheckpoint } from '../lib/checkpoint';
import { RNN } from '../lib/rnn';

const writer = path.join(__dirname, 'helpers', 'checkpoint-writer.js');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts a writer, kills it as soon as its temporary file has data; true when the kill landed mid-write. */
async function killMidSave(dir: string, target: string): Promise<boolean> {
  const child = spawn(process.execPath, [writer, target, '3000'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  let out = '';
  child.stdout.on('data', (b) => (out += b));
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && !out.includes('done')) {
    const partial = fs.readdirSync(dir).find((f) => f.endsWith('.tmp') && fs.statSync(path.join(dir, f)).size > 0);
    if (partial) {
      child.kill('SIGKILL');
      await exited;
      return fs.existsSync(path.join(dir, partial));
    }
    await sleep(1);
  }
  child.kill('SIGKILL');
  await exited;
  return false;
}

test('SIGKILL during a save leaves the old checkpoint loadable and unchanged', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'admmirnn-atomic-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const target = path.join(dir, 'model.safetensors');
  const old = new RNN({ inputSize: 4, hiddenSize: 5, outputSize: 3, init: { seed: 1 } });
  let landed = false;
  for (let attempt = 0; attempt < 5 && !landed; attempt++) {
    await saveCheckpoint(target, { model: old, config: { inputSize: 4, hiddenSize: 5, outputSize: 3 } });
    landed = await killMidSave(dir, target);
  }
  t.true(landed, 'the writer was killed while its temporary file was being written');
  const back = await readCheckpoint(target);
  t.is(back.model.hiddenSize, 5);
  t.deepEqual(Array.from(back.model.W), Array.from(old.W));
});
