/**
 * Every crafted untrusted-file case (checkpoint, .npy, tfjs, text), and how one is laid out on
 * disk for its reader. `npm run fuzz` and test/fuzz.test.ts run them all (file-stage.ts).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CHECKPOINT_CASES } from './checkpoint-cases';
import type { FileCase } from './file-case';
import { NPY_CASES } from './npy-cases';
import { TEXT_CASES } from './text-cases';
import { TFJS_CASES } from './tfjs-cases';

export const FILE_CASES: FileCase[] = [...CHECKPOINT_CASES, ...NPY_CASES, ...TFJS_CASES, ...TEXT_CASES];

/**
 * Writes the case's files (and its FIFOs and /dev/zero symlinks) into `dir`; returns the path
 * the reader takes and every path made, and the bytes written.
 */
export function writeCase(c: FileCase, dir: string): { entry: string; paths: string[]; bytes: number } {
  const files = c.files();
  const paths: string[] = [];
  let bytes = 0;
  for (const [name, content] of Object.entries(files)) {
    fs.writeFileSync(path.join(dir, name), content);
    paths.push(path.join(dir, name));
    bytes += content.length;
  }
  for (const [name, kind] of Object.entries(c.special ?? {})) {
    const p = path.join(dir, name);
    if (kind === 'fifo') execFileSync('mkfifo', [p]);
    else fs.symlinkSync('/dev/zero', p);
    paths.push(p);
  }
  const entry = Object.keys(files)[0] ?? Object.keys(c.special ?? {})[0];
  return { entry: path.join(dir, entry), paths, bytes };
}
