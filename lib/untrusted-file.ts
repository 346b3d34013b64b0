/**
 * Reading files a user may have downloaded (checkpoints, `.npy`, tfjs `weights.bin`, text): only
 * regular files (a FIFO would block forever, `/dev/zero` never ends), the size known from `fstat`
 * before anything is allocated, and every read bounded by the caller's limit. Readers check the
 * sizes their headers declare against `size` before they allocate for them.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { invalidFile } from './file-error';

/** Largest single Buffer this Node.js can allocate. */
const MAX_BUFFER = Math.min(require('node:buffer').constants.MAX_LENGTH as number, 2 ** 32);

export interface UntrustedReadOptions {
  /** Refuse files larger than this many bytes (before reading any of it). */
  maxBytes?: number;
}

function describeKind(stat: fs.Stats): string {
  if (stat.isDirectory()) return 'a directory';
  if (stat.isFIFO()) return 'a FIFO';
  if (stat.isCharacterDevice()) return 'a character device';
  if (stat.isBlockDevice()) return 'a block device';
  if (stat.isSocket()) return 'a socket';
  return 'not a regular file';
}

function checkStat(what: string, file: string, stat: fs.Stats, maxBytes: number): number {
  if (!stat.isFile()) throw invalidFile(file, what, `a regular file, it is ${describeKind(stat)}`);
  if (stat.size > maxBytes) throw invalidFile(file, what, `at most ${maxBytes} bytes, it has ${stat.size}`);
  return stat.size;
}

// O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer before fstat can refuse it.
const OPEN_FLAGS = fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0);

/** A regular file opened for bounded reads at given positions. */
export interface UntrustedFile {
  readonly path: string;
  readonly size: number;
  /** Exactly `length` bytes from `position` (a RangeError naming the file if it has fewer). */
  read(position: number, length: number): Promise<Buffer>;
  /**
   * Fills `target` with the bytes from `position`, in reads of at most `piece` bytes: no Buffer
   * of the whole length is needed, so a destination above Buffer's limit can be filled.
   */
  readInto(target: Uint8Array, position: number, piece?: number): Promise<void>;
  close(): Promise<void>;
}

/** Opens `file` after checking it is a regular file of at most `maxBytes` bytes. */
export async function openUntrustedFile(
  file: string,
  what: string,
  options: UntrustedReadOptions = {}
): Promise<UntrustedFile> {
  const handle = await fsp.open(file, OPEN_FLAGS);
  try {
    const size = checkStat(what, file, await handle.stat(), options.maxBytes ?? Number.MAX_SAFE_INTEGER);
    const checkSpan = (position: number, length: number) => {
      const valid = Number.isSafeInteger(position) && Number.isSafeInteger(length) && position >= 0 && length >= 0;
      if (!valid || position + length > size)
        throw invalidFile(file, what, `to hold bytes [${position}, ${position + length}) (it has ${size})`);
    };
    const readInto = async (target: Uint8Array, position: number, piece = 2 ** 30) => {
      checkSpan(position, target.length);
      let done = 0;
      while (done < target.length) {
        const { bytesRead } = await handle.read(target, done, Math.min(target.length - done, piece), position + done);
        if (bytesRead === 0) throw invalidFile(file, what, `to hold ${size} bytes (it shrank while being read)`);
        done += bytesRead;
      }
    };
    return {
      path: file,
      size,
      async read(position, length) {
        checkSpan(position, length);
        if (length > MAX_BUFFER)
          throw invalidFile(file, what, `read in parts of at most ${MAX_BUFFER} bytes, one has ${length}`);
        const out = Buffer.allocUnsafe(length);
        await readInto(out, position);
        return out;
      },
      readInto,
      close: () => handle.close(),
    };
  } catch (e) {
    await handle.close();
    throw e;
  }
}

/** The whole of `file`, refusing non-regular files and files above `maxBytes`. */
export async function readUntrustedFile(file: string, what: string, options: UntrustedReadOptions = {}): Promise<Buffer> {
  const opened = await openUntrustedFile(file, what, { maxBytes: Math.min(options.maxBytes ?? MAX_BUFFER, MAX_BUFFER) });
  try {
    return await opened.read(0, opened.size);
  } finally {
    await opened.close();
  }
}

/** Synchronous twin of `readUntrustedFile`. */
export function readUntrustedFileSync(file: string, what: string, options: UntrustedReadOptions = {}): Buffer {
  const fd = fs.openSync(file, OPEN_FLAGS);
  try {
    const size = checkStat(what, file, fs.fstatSync(fd), Math.min(options.maxBytes ?? MAX_BUFFER, MAX_BUFFER));
    const out = Buffer.allocUnsafe(size);
    let done = 0;
    while (done < size) {
      const bytesRead = fs.readSync(fd, out, done, Math.min(size - done, 2 ** 30), done);
      if (bytesRead === 0) throw invalidFile(file, what, `to hold ${size} bytes (it shrank while being read)`);
      done += bytesRead;
    }
    return out;
  } finally {
    fs.closeSync(fd);
  }
}
