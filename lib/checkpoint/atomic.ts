/**
 * Atomic file replacement: write a temporary file in the target's directory, fsync it, rename
 * it over the target, fsync the directory. A crash at any point leaves either the old file or
 * the new one, never a mix; a stale `.<name>.<pid>.<random>.tmp` may remain after a crash.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { invalidType } from '../errors';

/** Bytes per write call: bounded so a large checkpoint never needs one huge syscall. */
const CHUNK = 1 << 22;

export function temporaryPath(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

export async function writeFileAtomic(target: string, parts: readonly Uint8Array[]): Promise<void> {
  if (typeof target !== 'string' || target === '') throw invalidType('target', 'a non-empty path', target);
  if (!Array.isArray(parts) || !parts.every((p) => p instanceof Uint8Array)) throw invalidType('parts', 'an array of Uint8Array / Buffer', parts);
  const tmp = temporaryPath(target);
  const file = await fs.open(tmp, 'wx', 0o644);
  try {
    for (const part of parts)
      for (let at = 0; at < part.length; at += CHUNK) {
        const chunk = part.subarray(at, Math.min(part.length, at + CHUNK));
        let written = 0;
        while (written < chunk.length) written += (await file.write(chunk, written, chunk.length - written)).bytesWritten;
      }
    await file.sync();
    await file.close();
    await fs.rename(tmp, target);
  } catch (e) {
    await file.close().catch(() => undefined);
    await fs.rm(tmp, { force: true });
    throw e;
  }
  // The rename is durable only once the directory entry is on disk.
  const dir = await fs.open(path.dirname(target), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
