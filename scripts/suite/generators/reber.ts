/**
 * The embedded Reber grammar (Hochreiter & Schmidhuber 1997; Fahlman 1991), as a valid/invalid
 * classification: "B x R x E" with x ∈ {T, P} and R a Reber string. Half the strings are valid
 * (class 1); a quarter have the second-to-last symbol swapped (T ↔ P), an error only the memory
 * of the second symbol across the embedded string reveals; a quarter have one symbol of R
 * replaced, a local error. Strings longer than T are redrawn; shorter ones are left-padded
 * with PAD, so every string ends at the last step.
 */
import { Random, type TrainingData } from '../../../lib';

/** Token ids; PAD (0) fills the steps before a string starts. */
export const REBER_SYMBOLS = ['PAD', 'B', 'E', 'T', 'P', 'S', 'X', 'V'] as const;
type ReberSymbol = (typeof REBER_SYMBOLS)[number];

/** The Reber automaton: state → [symbol, next state] choices (state 5 is the end, reached by E). */
const GRAPH: [ReberSymbol, number][][] = [
  [
    ['T', 1],
    ['P', 2],
  ],
  [
    ['S', 1],
    ['X', 3],
  ],
  [
    ['T', 2],
    ['V', 4],
  ],
  [
    ['X', 2],
    ['S', 5],
  ],
  [
    ['P', 3],
    ['V', 5],
  ],
];

function reberString(rng: Random): ReberSymbol[] {
  const out: ReberSymbol[] = ['B'];
  for (let state = 0; state !== 5;) {
    const [symbol, next] = GRAPH[state][rng.int(2)];
    out.push(symbol);
    state = next;
  }
  out.push('E');
  return out;
}

function isReber(s: readonly ReberSymbol[]): boolean {
  if (s.length < 2 || s[0] !== 'B' || s[s.length - 1] !== 'E') return false;
  let state = 0;
  for (const symbol of s.slice(1, -1)) {
    if (state === 5) return false;
    const edge = GRAPH[state].find(([c]) => c === symbol);
    if (!edge) return false;
    state = edge[1];
  }
  return state === 5;
}

export function isEmbeddedReber(s: readonly ReberSymbol[]): boolean {
  const n = s.length;
  const frame = n >= 4 && s[0] === 'B' && (s[1] === 'T' || s[1] === 'P') && s[n - 2] === s[1] && s[n - 1] === 'E';
  return frame && isReber(s.slice(2, n - 2));
}

const INNER: ReberSymbol[] = ['T', 'P', 'S', 'X', 'V'];

/** A valid embedded string, or one with the given kind of error; at most T symbols. */
export function embeddedReberString(rng: Random, T: number, error: 'none' | 'long-range' | 'local'): ReberSymbol[] {
  for (;;) {
    const x: ReberSymbol = rng.int(2) ? 'T' : 'P';
    const s: ReberSymbol[] = ['B', x, ...reberString(rng), x, 'E'];
    if (s.length > T) continue;
    if (error === 'long-range') s[s.length - 2] = x === 'T' ? 'P' : 'T';
    if (error === 'local')
      // A symbol strictly inside R (between its B and E) replaced by a different one, until invalid.
      for (;;) {
        const copy = [...s],
          at = 3 + rng.int(s.length - 6);
        copy[at] = INNER.filter((c) => c !== s[at])[rng.int(INNER.length - 1)];
        if (!isEmbeddedReber(copy)) return copy;
      }
    return s;
  }
}

export function embeddedReber(count: number, T: number, seed: number): TrainingData {
  if (!Number.isInteger(T) || T < 9)
    throw new RangeError(`embedded Reber: T must be an integer ≥ 9 (the shortest string), got ${T}`);
  const rng = new Random(seed);
  const order = rng.shuffle(Array.from({ length: count }, (_, i) => i));
  const inputs = new Int32Array(count * T),
    targets = new Int32Array(count);
  const kinds = ['none', 'long-range', 'none', 'local'] as const;
  for (let i = 0; i < count; i++) {
    const n = order[i],
      kind = kinds[i % 4];
    const s = embeddedReberString(rng, T, kind);
    inputs.set(
      s.map((c) => REBER_SYMBOLS.indexOf(c)),
      n * T + T - s.length
    );
    targets[n] = kind === 'none' ? 1 : 0;
  }
  return { inputs, targets, sequenceLength: T };
}
