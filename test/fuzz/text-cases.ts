/**
 * Crafted text inputs (each ≤ 1 MB) for the text loaders and `train --text` / `--labelled`:
 * `kind` says which. Every one must be refused with a FileFormatError naming the file, except
 * those marked `valid`, which must load (they once crashed or were silently mis-read).
 */
export interface TextCase {
  name: string;
  bytes(): Buffer;
  kind: 'text' | 'labelled';
  /** The input is well formed: loading it must succeed. */
  valid?: boolean;
}

const repeat = (text: string, times: number) => Buffer.from(text.repeat(times), 'utf8');

export const TEXT_CASES: TextCase[] = [
  { name: 'Latin-1 text (not UTF-8)', kind: 'text',
    bytes: () => Buffer.from('café naïve résumé '.repeat(40), 'latin1') },
  { name: 'overlong UTF-8 encoding of "/"', kind: 'text',
    bytes: () => Buffer.concat([repeat('abc ', 20), Buffer.of(0xc0, 0xaf), repeat('abc ', 20)]) },
  { name: 'UTF-8-encoded UTF-16 surrogate', kind: 'text',
    bytes: () => Buffer.concat([repeat('abc ', 20), Buffer.of(0xed, 0xa0, 0x80), repeat('abc ', 20)]) },
  { name: 'code point above U+10FFFF', kind: 'text',
    bytes: () => Buffer.concat([repeat('abc ', 20), Buffer.of(0xf4, 0x90, 0x80, 0x80)]) },
  { name: 'truncated multi-byte sequence at the end', kind: 'text',
    bytes: () => Buffer.concat([repeat('abc ', 40), Buffer.of(0xe2, 0x82)]) },
  { name: 'NUL in the middle of a text', kind: 'text',
    bytes: () => Buffer.concat([repeat('hello world ', 10), Buffer.of(0), repeat('again and again ', 10)]) },
  { name: 'UTF-16LE text (a NUL after every letter)', kind: 'text',
    bytes: () => Buffer.from('hello world '.repeat(20), 'utf16le') },
  { name: 'only NULs', kind: 'text', bytes: () => Buffer.alloc(4096) },
  { name: 'empty text', kind: 'text', bytes: () => Buffer.alloc(0) },
  { name: 'text shorter than one window', kind: 'text', bytes: () => Buffer.from('abc') },
  { name: 'labelled: one class only', kind: 'labelled', bytes: () => repeat('pos\tgreat fun\n', 30) },
  { name: 'labelled: every text empty', kind: 'labelled', bytes: () => repeat('pos\t\nneg\t\n', 20) },
  { name: 'labelled: no tab', kind: 'labelled', bytes: () => repeat('pos great fun\n', 30) },
  { name: 'labelled: empty file', kind: 'labelled', bytes: () => Buffer.alloc(0) },
  { name: 'labelled: Latin-1 line', kind: 'labelled',
    bytes: () => Buffer.concat([repeat('pos\tgood\nneg\tbad\n', 5), Buffer.from('pos\tcafé\n', 'latin1')]) },
  { name: 'labelled: NUL in a text', kind: 'labelled',
    bytes: () => Buffer.concat([repeat('pos\tgood\nneg\tbad\n', 5), Buffer.from('pos\tgo\0od\n')]) },
  // 250,000 lines: spreading their lengths into Math.max overflowed the stack (above ~125,000).
  { name: 'labelled: 250,000 short lines', kind: 'labelled', valid: true,
    bytes: () => repeat('a\tx\nb\ty\n', 125_000) },
];
