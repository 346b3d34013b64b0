/**
 * Token-id classification, "colour count": T = 12 tokens over 63 symbols; symbols 0..59 carry a
 * colour (symbol mod 10) and a shade (irrelevant), 60..62 are blanks. The class is the colour that
 * appears three times in the second half; a decoy colour appears three times in the first half.
 * A bag of symbols cannot tell the two apart, so a readout of the untrained network's last state
 * only gets what its fading memory of positions gives; a trained RNN learns to discount the
 * first half. Classes are exactly balanced; the order of the sequences is shuffled.
 */
import { Random, type TrainingData } from '../../../lib';

export const COLOUR_COUNT = { symbols: 63, classes: 10, length: 12, colours: 10, shades: 6 } as const;

const BLANKS = COLOUR_COUNT.symbols - COLOUR_COUNT.colours * COLOUR_COUNT.shades;

/** One half (6 tokens): `colour` three times, the other three distinct other colours or blanks. */
function half(rng: Random, colour: number, avoid: number): number[] {
  const { colours, shades } = COLOUR_COUNT;
  const tokens: number[] = [];
  for (let i = 0; i < 3; i++) tokens.push(colour + colours * rng.int(shades));
  const used = new Set([colour, avoid]);
  while (tokens.length < 6) {
    if (rng.uniform() < 0.25) {
      tokens.push(colours * shades + rng.int(BLANKS));
      continue;
    }
    const other = rng.int(colours);
    if (used.has(other)) continue;
    used.add(other);
    tokens.push(other + colours * rng.int(shades));
  }
  return rng.shuffle(tokens);
}

export function colourCount(count: number, seed: number): TrainingData {
  const { length: T, classes } = COLOUR_COUNT;
  const rng = new Random(seed);
  const order = rng.shuffle(Array.from({ length: count }, (_, i) => i));
  const inputs = new Int32Array(count * T),
    targets = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const n = order[i],
      label = i % classes;
    const decoy = (label + 1 + rng.int(classes - 1)) % classes;
    inputs.set([...half(rng, decoy, label), ...half(rng, label, decoy)], n * T);
    targets[n] = label;
  }
  return { inputs, targets, sequenceLength: T };
}
