/**
 * The error of a file whose contents (or kind) are wrong: a RangeError, so callers that check
 * `instanceof RangeError` keep working, that also carries the file's path. The CLI reports it as a
 * bad file (exit 1), not as bad usage (exit 2).
 */
export class FileFormatError extends RangeError {
  constructor(
    readonly file: string,
    message: string
  ) {
    super(message.includes(file) ? message : `${file}: ${message}`);
    this.name = 'FileFormatError';
  }
}

/** `<what> <file> must be <expected>[, got <actual>]` as a FileFormatError. */
export function invalidFile(file: string, what: string, expected: string, actual?: string): FileFormatError {
  return new FileFormatError(
    file,
    `${what} ${file} must be ${expected}${actual === undefined ? '' : `, got ${actual}`}`
  );
}
