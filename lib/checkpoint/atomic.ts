/**
 * Atomic file replacement: write a temporary file in the target's directory, fsync it, rename
 * it over the target, fsync the directory. A crash at any point leaves either the old file or
 * the new one, never a mix. A crash may leave a `.<name>.<pid>.<random>.tmp`; the next save of
 * the same target removes those whose process is gone.
 *
 * The target is the file a symlink points to (the link is kept, the file it names is replaced),
 * and a replaced file keeps its permission bits, so a 0600 checkpoint stays private.
 */
import { randomBytes } from 'node:crypto';
import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { invalidType } from '../errors';

/** Bytes per write call: bounded so a large checkpoint never needs one huge syscall. */
const WRITE_PIECE = 1 << 22;

/** Links followed before giving up (Linux's own limit). */
const MAX_LINKS = 40;

export function temporaryPath(target: string): string {
  const name = `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  return path.join(path.dirname(target), name);
}

/** The temporary files `temporaryPath(target)` makes, with the pid as group 1. */
function temporaryPattern(target: string): RegExp {
  const name = path.basename(target).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^\\.${name}\\.(\\d{1,10})\\.[0-9a-f]{8}\\.tmp$`);
}

/**
 * A symlink is followed unless another user planted it in a shared sticky directory such as /tmp
 * (the rule of Linux's fs.protected_symlinks, which a path resolved here would bypass).
 */
function checkLinkTrusted(link: string, stat: fsSync.Stats): void {
  const uid = process.getuid?.();
  if (uid === undefined || stat.uid === uid) return;
  const dir = fsSync.statSync(path.dirname(link));
  const sharedSticky = (dir.mode & 0o1000) !== 0 && (dir.mode & 0o002) !== 0;
  if (sharedSticky && stat.uid !== dir.uid)
    throw Object.assign(
      new Error(
        `${link} is a symlink another user (uid ${stat.uid}) owns in the shared directory ${path.dirname(link)}; ` +
          'it is not followed'
      ),
      { code: 'EPERM' }
    );
}

/** lstat, or undefined where nothing can be (a missing entry, or a path through a file). */
function linkStat(file: string): fsSync.Stats | undefined {
  try {
    return fsSync.lstatSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw e;
  }
}

/**
 * The file a save to `target` replaces: `target` itself, or the end of its chain of symlinks
 * (which need not exist yet: a dangling link names the file to create).
 */
export function resolveTarget(target: string): string {
  let at = target;
  for (let hops = 0; ; hops++) {
    const stat = linkStat(at);
    if (!stat?.isSymbolicLink()) return at;
    if (hops === MAX_LINKS)
      throw Object.assign(new Error(`ELOOP: too many symbolic links from ${target}`), { code: 'ELOOP' });
    checkLinkTrusted(at, stat);
    at = path.resolve(path.dirname(at), fsSync.readlinkSync(at));
  }
}

/** True when no process `pid` exists (a live one, or one of another user, is left alone). */
function processIsGone(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid < 1 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * Removes the temporary files earlier saves of `target` left when their process died: only
 * regular files named exactly as `temporaryPath(target)` names them, only for dead pids.
 */
export async function removeStaleTemporaries(target: string): Promise<string[]> {
  const dir = path.dirname(target),
    pattern = temporaryPattern(target);
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const match = pattern.exec(name);
    if (!match || !processIsGone(Number(match[1]))) continue;
    const file = path.join(dir, name);
    const stat = await fs.lstat(file).catch(() => undefined);
    if (!stat?.isFile()) continue;
    await fs.rm(file, { force: true }).then(
      () => removed.push(file),
      () => undefined
    );
  }
  return removed;
}

export async function writeFileAtomic(target: string, parts: readonly Uint8Array[]): Promise<void> {
  if (typeof target !== 'string' || target === '') throw invalidType('target', 'a non-empty path', target);
  if (!Array.isArray(parts) || !parts.every((p) => p instanceof Uint8Array))
    throw invalidType('parts', 'an array of Uint8Array / Buffer', parts);
  const destination = resolveTarget(target);
  const existing = fsSync.statSync(destination, { throwIfNoEntry: false });
  await removeStaleTemporaries(destination);
  const tmp = temporaryPath(destination);
  // A replaced file's mode is applied before any data is written; a new file gets 0666 less the umask.
  const file = await fs.open(tmp, 'wx', existing ? 0o600 : 0o666);
  try {
    if (existing) await file.chmod(existing.mode & 0o777);
    for (const part of parts)
      for (let at = 0; at < part.length; at += WRITE_PIECE) {
        const piece = part.subarray(at, Math.min(part.length, at + WRITE_PIECE));
        let written = 0;
        while (written < piece.length)
          written += (await file.write(piece, written, piece.length - written)).bytesWritten;
      }
    await file.sync();
    await file.close();
    await fs.rename(tmp, destination);
  } catch (e) {
    await file.close().catch(() => undefined);
    await fs.rm(tmp, { force: true });
    throw e;
  }
  // The rename is durable only once the directory entry is on disk.
  const dir = await fs.open(path.dirname(destination), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
