/**
 * The linux-x64 prebuild that the prebuild and tarball tests need: rebuilt with `npm run prebuild`
 * when it is missing or was made from other native sources (as scripts/install.js decides).
 * Test files run in parallel processes, so the check and the build hold a lock: two prebuilds at
 * once would write the same build directory.
 */
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const root = path.resolve(__dirname, '..', '..', '..');
export const prebuildDir = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
export const prebuild = path.join(prebuildDir, 'admmirnn.node');
/** Prebuilds are made for linux-x64 here. */
export const hasPrebuilds = process.platform === 'linux' && process.arch === 'x64';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- a CommonJS script outside rootDir
const sources = require(path.join(root, 'scripts', 'native-sources.js')) as {
  isCurrentPrebuild(root: string, dir: string): boolean;
};

const current = (): boolean => sources.isCurrentPrebuild(root, prebuildDir);

/** Makes sure a current prebuild exists (a no-op off linux-x64). */
export function ensurePrebuild(): void {
  if (!hasPrebuilds || current()) return;
  withLock(() => {
    if (current()) return; // another test file built it while this one waited
    // Niced and on two jobs: the other test files (some timing-sensitive) run meanwhile. x64 only: the
    // arm64 cross build needs extra tools (npm run test:arm64 checks it).
    execFileSync('nice', ['-n', '19', 'npm', 'run', 'prebuild'], {
      cwd: root,
      stdio: 'pipe',
      maxBuffer: 64 << 20,
      timeout: 15 * 60_000,
      env: { ...process.env, ADMMIRNN_PREBUILD_JOBS: '2', ADMMIRNN_PREBUILD_ARCHS: 'x64' },
    });
  });
}

/** Runs fn holding a lock directory (per checkout) that records its owner's pid; a dead owner's lock is taken over. */
function withLock(fn: () => void): void {
  const id = crypto.createHash('sha256').update(root).digest('hex').slice(0, 12);
  const lock = path.join(os.tmpdir(), `admmirnn-prebuild-${id}.lock`);
  const deadline = Date.now() + 20 * 60_000;
  for (;;) {
    try {
      fs.mkdirSync(lock);
      fs.writeFileSync(path.join(lock, 'pid'), String(process.pid));
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if (ownerGone(lock)) fs.rmSync(lock, { recursive: true, force: true });
      else if (Date.now() > deadline) throw new Error(`waited 20 minutes for the prebuild lock ${lock}`, { cause: e });
      else Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 500);
    }
  }
  try {
    fn();
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

function ownerGone(lock: string): boolean {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(path.join(lock, 'pid'), 'utf8'));
  } catch {
    // Created but its pid not yet written: give the owner time unless the lock is old.
    try {
      return Date.now() - fs.statSync(lock).mtimeMs > 10_000;
    } catch {
      return false; // already released
    }
  }
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
