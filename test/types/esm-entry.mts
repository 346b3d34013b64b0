/** The ES module entry's types (the `import` condition: dist/lib/index.d.mts) are the CommonJS entry's. */
import * as esm from 'admmirnn';
import { AdmmTrainer, RNN, type FitResult } from 'admmirnn';
import type { Equal, Expect } from './assert.js';
import type { MainExports } from './public-api.js';

export type EsmEntry = [
  Expect<Equal<keyof typeof esm, MainExports>>,
  Expect<Equal<ReturnType<AdmmTrainer['fit']>, Promise<FitResult>>>,
  Expect<Equal<ConstructorParameters<typeof RNN>[0]['hiddenSize'], number>>,
];
