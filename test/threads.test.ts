import test from 'ava';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { native } from '../lib/native-entry';
import { OPENBLAS_THREAD_TIMEOUT } from '../lib/native';

// dist/test/threads.test.js → dist/lib: the compiled library a user's require() loads.
const lib = path.resolve(__dirname, '..', 'lib');

/** OPENBLAS_THREAD_TIMEOUT as a fresh process sees it after loading the library. */
function timeoutAfterLoad(preset?: string): string {
  const env = { ...process.env };
  delete env.OPENBLAS_THREAD_TIMEOUT;
  if (preset !== undefined) env.OPENBLAS_THREAD_TIMEOUT = preset;
  const code = `require(${JSON.stringify(lib)}); process.stdout.write(String(process.env.OPENBLAS_THREAD_TIMEOUT));`;
  const r = spawnSync(process.execPath, ['-e', code], { env, encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`child failed: ${r.stderr}`);
  return r.stdout;
}

test('loading the addon shortens OpenBLAS idle spinning unless the user chose a value', (t) => {
  t.is(timeoutAfterLoad(), OPENBLAS_THREAD_TIMEOUT);
  t.is(OPENBLAS_THREAD_TIMEOUT, '20');
  t.is(timeoutAfterLoad('26'), '26');
});

test('setThreads changes the thread counts getThreads reports, and they can be restored', (t) => {
  const before = native.getThreads();
  try {
    native.setThreads({ elementwise: 1 });
    t.is(native.getThreads().elementwise, 1);
    t.is(native.getThreads().blas, before.blas);
  } finally {
    native.setThreads(before);
  }
  t.deepEqual(native.getThreads(), before);
});
