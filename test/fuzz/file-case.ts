/**
 * A crafted input for a reader of files a user may have downloaded: one or more files (≤ 1 MB in
 * all) and the reader that takes them. Unless marked `valid`, the reader must refuse it with a
 * FileFormatError naming the file, within bounded memory and time (`npm run fuzz` measures both).
 */
export interface FileCase {
  name: string;
  /** Which reader takes it: readCheckpoint, readNpy, loadTfjsModel, or the character / labelled text loaders. */
  kind: 'checkpoint' | 'npy' | 'tfjs' | 'text' | 'labelled';
  /** File name → content. The first entry is the path given to the reader (tfjs: model.json). */
  files(): Record<string, Buffer>;
  /** Well formed: reading it must succeed (it once crashed or was silently mis-read). */
  valid?: boolean;
  /** The refusal's message must match this (it is refused for the reason the case is about). */
  expect?: RegExp;
  /** Files that are not regular, made beside `files()`: a FIFO, or a symlink to /dev/zero. */
  special?: Record<string, 'fifo' | 'dev-zero'>;
}
