/**
 * Errors about a file's contents, whichever library check finds them, become a FileFormatError
 * naming the file: the CLI reports those as a bad file (exit 1), never as bad usage (exit 2).
 * System errors that do not name the file get its name too.
 */
import { FileFormatError } from '../file-error';

function asFileError(file: string, e: unknown): unknown {
  if (e instanceof FileFormatError) return e;
  if (e instanceof TypeError || e instanceof RangeError) return new FileFormatError(file, e.message);
  // A system error (EISDIR, EACCES, …) does not always say which file it is about.
  const code = (e as NodeJS.ErrnoException)?.code;
  if (e instanceof Error && typeof code === 'string' && !e.message.includes(file))
    return Object.assign(new Error(`cannot read ${file}: ${e.message}`, { cause: e }), { code });
  return e;
}

/** Runs `make`, reporting its argument errors as errors of `file`'s contents. */
export function fromFile<T>(file: string, make: () => T): T {
  try {
    return make();
  } catch (e) {
    throw asFileError(file, e);
  }
}

/** The async twin of `fromFile`. */
export async function fromFileAsync<T>(file: string, make: () => Promise<T>): Promise<T> {
  try {
    return await make();
  } catch (e) {
    throw asFileError(file, e);
  }
}
