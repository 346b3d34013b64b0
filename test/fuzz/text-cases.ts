/**
 * Crafted text inputs (each ≤ 1 MB) for the text loaders and `train --text` / `--labelled`:
 * `kind` says which. Every one must be refused with a FileFormatError naming the file, except
 * those marked `valid`, which must load (they once crashed or were silently mis-read).
 */
import type { FileCase } from './file-case';

const repeat = (text: string, times: number) => Buffer.from(text.repeat(times), 'utf8');

/** A text case: one file, named for its loader. */
function text(name: string, kind: 'text' | 'labelled', bytes: () => Buffer, valid?: true): FileCase {
  const file = kind === 'text' ? 'book.txt' : 'reviews.tsv';
  return { name: kind === 'text' ? `text: ${name}` : name, kind, valid, files: () => ({ [file]: bytes() }) };
}

export const TEXT_CASES: FileCase[] = [
  text('Latin-1 text (not UTF-8)', 'text', () => Buffer.from('café naïve résumé '.repeat(40), 'latin1')),
  text('overlong UTF-8 encoding of "/"', 'text', () =>
    Buffer.concat([repeat('abc ', 20), Buffer.of(0xc0, 0xaf), repeat('abc ', 20)])
  ),
  text('UTF-8-encoded UTF-16 surrogate', 'text', () =>
    Buffer.concat([repeat('abc ', 20), Buffer.of(0xed, 0xa0, 0x80), repeat('abc ', 20)])
  ),
  text('code point above U+10FFFF', 'text', () =>
    Buffer.concat([repeat('abc ', 20), Buffer.of(0xf4, 0x90, 0x80, 0x80)])
  ),
  text('truncated multi-byte sequence at the end', 'text', () =>
    Buffer.concat([repeat('abc ', 40), Buffer.of(0xe2, 0x82)])
  ),
  text('NUL in the middle of a text', 'text', () =>
    Buffer.concat([repeat('hello world ', 10), Buffer.of(0), repeat('again and again ', 10)])
  ),
  text('UTF-16LE text (a NUL after every letter)', 'text', () => Buffer.from('hello world '.repeat(20), 'utf16le')),
  text('only NULs', 'text', () => Buffer.alloc(4096)),
  text('empty text', 'text', () => Buffer.alloc(0)),
  text('text shorter than one window', 'text', () => Buffer.from('abc')),
  text('labelled: one class only', 'labelled', () => repeat('pos\tgreat fun\n', 30)),
  text('labelled: every text empty', 'labelled', () => repeat('pos\t\nneg\t\n', 20)),
  text('labelled: no tab', 'labelled', () => repeat('pos great fun\n', 30)),
  text('labelled: empty file', 'labelled', () => Buffer.alloc(0)),
  text('labelled: Latin-1 line', 'labelled', () =>
    Buffer.concat([repeat('pos\tgood\nneg\tbad\n', 5), Buffer.from('pos\tcafé\n', 'latin1')])
  ),
  text('labelled: NUL in a text', 'labelled', () =>
    Buffer.concat([repeat('pos\tgood\nneg\tbad\n', 5), Buffer.from('pos\tgo\0od\n')])
  ),
  // 250,000 lines: spreading their lengths into Math.max overflowed the stack (above ~125,000).
  text('labelled: 250,000 short lines', 'labelled', () => repeat('a\tx\nb\ty\n', 125_000), true),
];
