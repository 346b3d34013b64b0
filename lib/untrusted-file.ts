/**
 * Reading files a user may have downloaded (checkpoints, `.npy`, tfjs `weights.bin`, text): only
 * regular files (a FIFO would block forever, `/dev/zero` never ends), the size known from `fstat`
 * before anything is allocated, and every read bounded by the caller's limit. Readers check the
 * sizes their headers declare against `size` before they allocate for them.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { invalidFile } from './file-error';
import { constants as bufferConstants } from 'node:buffer';

/** Largest single Buffer this Node.js can allocate. */
const MAX_BUFFER = Math.min(bufferConstants.MAX_LENGTH, 2 ** 32);

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
   * Fills `target` with the bytes from `position` (no intermediate copy: the caller allocated it for a
   * checked size), in reads of at most `piece` bytes, so a destination above Buffer's limit can be filled.
   */
  readInto(target: Uint8Array, position: number, piece?: number): Promise<void>;
  close(): Promise<void>;
}

/** Synchronous twin of `UntrustedFile`. */
export interface UntrustedFileSync {
  readonly path: string;
  readonly size: number;
  read(position: number, length: number): Buffer;
  readInto(target: Uint8Array, position: number, piece?: number): void;
  close(): void;
}

function checkSpan(what: string, file: string, size: number, position: number, length: number): void {
  const inside = Number.isSafeInteger(position) && Number.isSafeInteger(length) && position >= 0 && length >= 0;
  if (!inside || position + length > size)
    throw invalidFile(file, what, `to hold bytes [${position}, ${position + length}) (it has ${size})`);
}

/** `read` returns one Buffer, so its length is bounded by Buffer's. */
function checkBufferLength(what: string, file: string, length: number): void {
  if (length > MAX_BUFFER)
    throw invalidFile(file, what, `read in parts of at most ${MAX_BUFFER} bytes, one has ${length}`);
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
    const readInto = async (target: Uint8Array, position: number, piece = 2 ** 30) => {
      checkSpan(what, file, size, position, target.byteLength);
      let done = 0;
      while (done < target.byteLength) {
        const part = Math.min(target.byteLength - done, piece);
        const { bytesRead } = await handle.read(target, done, part, position + done);
        if (bytesRead === 0) throw invalidFile(file, what, `to hold ${size} bytes (it shrank while being read)`);
        done += bytesRead;
      }
    };
    return {
      path: file,
      size,
      async read(position, length) {
        checkSpan(what, file, size, position, length);
        checkBufferLength(what, file, length);
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
export async function readUntrustedFile(
  file: string,
  what: string,
  options: UntrustedReadOptions = {}
): Promise<Buffer> {
  const opened = await openUntrustedFile(file, what, {
    maxBytes: Math.min(options.maxBytes ?? MAX_BUFFER, MAX_BUFFER),
  });
  try {
    return await opened.read(0, opened.size);
  } finally {
    await opened.close();
  }
}

/** Synchronous twin of `openUntrustedFile`. */
export function openUntrustedFileSync(
  file: string,
  what: string,
  options: UntrustedReadOptions = {}
): UntrustedFileSync {
  const fd = fs.openSync(file, OPEN_FLAGS);
  try {
    const size = checkStat(what, file, fs.fstatSync(fd), options.maxBytes ?? Number.MAX_SAFE_INTEGER);
    const readInto = (target: Uint8Array, position: number, piece = 2 ** 30) => {
      checkSpan(what, file, size, position, target.byteLength);
      let done = 0;
      while (done < target.byteLength) {
        const bytesRead = fs.readSync(fd, target, done, Math.min(target.byteLength - done, piece), position + done);
        if (bytesRead === 0) throw invalidFile(file, what, `to hold ${size} bytes (it shrank while being read)`);
        done += bytesRead;
      }
    };
    return {
      path: file,
      size,
      read(position, length) {
        checkSpan(what, file, size, position, length);
        checkBufferLength(what, file, length);
        const out = Buffer.allocUnsafe(length);
        readInto(out, position);
        return out;
      },
      readInto,
      close: () => fs.closeSync(fd),
    };
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
}

/** Synchronous twin of `readUntrustedFile`. */
export function readUntrustedFileSync(file: string, what: string, options: UntrustedReadOptions = {}): Buffer {
  const opened = openUntrustedFileSync(file, what, { maxBytes: Math.min(options.maxBytes ?? MAX_BUFFER, MAX_BUFFER) });
  try {
    return opened.read(0, opened.size);
  } finally {
    opened.close();
  }
}
