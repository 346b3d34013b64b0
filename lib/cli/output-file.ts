/**
 * The files a command writes. `train -o` is checked before training starts, so a mistyped or
 * unwritable path fails in a second instead of after hours of training; errors name the target,
 * never the temporary file the atomic save writes first.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Checkpoint } from '../checkpoint/format';
import { resolveTarget, temporaryPath } from '../checkpoint/atomic';
import { saveCheckpoint } from '../checkpoint/write';

/** `ENOENT: no such file or directory, open '/d/.x.st.1.ab.tmp'` → `ENOENT: no such file or directory`. */
function reason(e: unknown): string {
  const message = (e as Error)?.message ?? String(e);
  return message.replace(/, \w+ '[^']*'( -> '[^']*')?$/, '');
}

/**
 * Checks that a checkpoint can be written at `file`: its directory exists (it is not created: a
 * missing directory is more often a typo than a wish), is a directory, and accepts a new file (a
 * probe file is created and removed, as the atomic save will), and `file` is not a directory.
 */
export function checkWritable(file: string, what = 'the checkpoint'): void {
  const fail = (why: string) => new Error(`cannot write ${what} ${file}: ${why}`);
  // A symlink is written through: the file it names, in that file's directory, is what is checked.
  let target: string;
  try {
    target = resolveTarget(file);
  } catch (e) {
    throw fail(reason(e));
  }
  const dir = path.dirname(path.resolve(target));
  let stat: fs.Stats;
  try {
    stat = fs.statSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const parent = path.dirname(target);
    if (code === 'ENOENT') throw fail(`its directory ${parent} does not exist (create it first: mkdir -p ${parent})`);
    throw fail(`its directory ${path.dirname(target)} cannot be read (${reason(e)})`);
  }
  if (!stat.isDirectory()) throw fail(`${path.dirname(target)} is not a directory`);
  if (fs.statSync(target, { throwIfNoEntry: false })?.isDirectory()) throw fail('it is a directory');
  const probe = temporaryPath(target);
  try {
    fs.closeSync(fs.openSync(probe, 'wx', 0o600));
  } catch (e) {
    throw fail(`its directory ${path.dirname(target)} does not accept new files (${reason(e)})`);
  }
  fs.rmSync(probe, { force: true });
}

/** saveCheckpoint, whose errors name `file` (the target), not its temporary file. */
export async function saveCheckpointTo(file: string, checkpoint: Checkpoint): Promise<void> {
  try {
    await saveCheckpoint(file, checkpoint);
  } catch (e) {
    if ((e as NodeJS.ErrnoException)?.code === undefined) throw e;
    throw new Error(`cannot write the checkpoint ${file}: ${reason(e)}`, { cause: e });
  }
}
