/**
 * Seeded pseudo-random numbers (xoshiro128**, seeded through splitmix32), so the same seed
 * gives the same weights, shuffles and runs on every machine.
 */
import { invalidRange, invalidType } from './errors';
import { checkInteger, checkNumber, checkObject } from './validate';

/** A generator's complete state: the four xoshiro words and the spare normal of Box–Muller. */
export interface RandomState {
  words: [number, number, number, number];
  spareNormal?: number;
}

export class Random {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spareNormal: number | undefined;

  constructor(seed: number) {
    checkInteger('seed', seed, -(2 ** 31), 2 ** 32 - 1);
    let x = seed >>> 0 || 0x9e3779b9;
    const split = (): number => {
      x = (x + 0x9e3779b9) | 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = split();
    this.s1 = split();
    this.s2 = split();
    this.s3 = split();
  }

  /** A copy of the state; fromState(state) continues the sequence exactly (JSON-safe). */
  getState(): RandomState {
    const words: RandomState['words'] = [this.s0 >>> 0, this.s1 >>> 0, this.s2 >>> 0, this.s3 >>> 0];
    return this.spareNormal === undefined ? { words } : { words, spareNormal: this.spareNormal };
  }

  /** A generator that continues from `state` (from getState); `name` prefixes validation errors. */
  static fromState(state: unknown, name = 'state'): Random {
    checkObject(name, state);
    const { words, spareNormal } = state;
    if (!Array.isArray(words) || words.length !== 4)
      throw invalidType(`${name}.words`, 'four 32-bit unsigned integers', words);
    const w = words.map((v, i) => checkInteger(`${name}.words[${i}]`, v, 0, 2 ** 32 - 1));
    // xoshiro's all-zero state is a fixed point (it yields only zeros); no seed reaches it.
    if (w.every((v) => v === 0)) throw invalidRange(`${name}.words`, 'not all zero (no seed gives that state)');
    const random = new Random(0);
    [random.s0, random.s1, random.s2, random.s3] = w;
    if (spareNormal !== undefined) random.spareNormal = checkNumber(`${name}.spareNormal`, spareNormal);
    return random;
  }

  /** Uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1). */
  uniform(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Standard normal (Box–Muller, both values used). */
  normal(): number {
    if (this.spareNormal !== undefined) {
      const v = this.spareNormal;
      this.spareNormal = undefined;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u)),
      phi = 2 * Math.PI * this.uniform();
    this.spareNormal = r * Math.sin(phi);
    return r * Math.cos(phi);
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** Fisher–Yates shuffle in place. */
  shuffle<T extends { length: number; [i: number]: unknown }>(items: T): T {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = items[i];
      items[i] = items[j];
      items[j] = tmp;
    }
    return items;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
