import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { FileFormatError } from '../lib/file-error';
import { openUntrustedFile, readUntrustedFile, readUntrustedFileSync } from '../lib/untrusted-file';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'admmirnn-untrusted-'));
const file = path.join(dir, 'f.bin');
fs.writeFileSync(file, Buffer.from('hello world'));
fs.symlinkSync('/dev/zero', path.join(dir, 'zero'));
fs.mkdirSync(path.join(dir, 'sub'));
execFileSync('mkfifo', [path.join(dir, 'fifo')]);

test('a regular file is read whole, sync and async, and in parts', async (t) => {
  t.is((await readUntrustedFile(file, 'data')).toString(), 'hello world');
  t.is(readUntrustedFileSync(file, 'data').toString(), 'hello world');
  const opened = await openUntrustedFile(file, 'data');
  t.is(opened.size, 11);
  t.is((await opened.read(6, 5)).toString(), 'world');
  await t.throwsAsync(opened.read(6, 6), { instanceOf: RangeError, message: /f\.bin.*bytes \[6, 12\)/ });
  await opened.close();
});

test('directories, FIFOs and devices (also behind a symlink) are refused before any read, naming the file', async (t) => {
  for (const [name, kind] of [
    ['zero', 'a character device'],
    ['sub', 'a directory'],
    ['fifo', 'a FIFO'],
  ]) {
    const p = path.join(dir, name);
    await t.throwsAsync(readUntrustedFile(p, 'checkpoint'), {
      instanceOf: FileFormatError,
      message: new RegExp(`checkpoint ${p} must be a regular file, it is ${kind}`),
    });
    t.throws(() => readUntrustedFileSync(p, 'checkpoint'), {
      instanceOf: RangeError,
      message: new RegExp(`it is ${kind}`),
    });
  }
});

test('a file above the limit is refused by its size alone', async (t) => {
  await t.throwsAsync(readUntrustedFile(file, 'weights', { maxBytes: 10 }), {
    instanceOf: RangeError,
    message: /at most 10 bytes, it has 11/,
  });
  t.throws(() => readUntrustedFileSync(file, 'weights', { maxBytes: 10 }), {
    instanceOf: RangeError,
    message: /at most 10 bytes, it has 11/,
  });
});
