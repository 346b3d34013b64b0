/** The `admmirnn/native` subpath: the raw binding and its types, as a consumer imports them. */
import * as entry from 'admmirnn/native';
import type { BpttBinding, BpttGradientsResult, ForwardArgs } from 'admmirnn/native';
import type { NativeBinding, NativeShape, ThreadCounts } from 'admmirnn/native';
import type { Equal, Expect } from './assert';

type Op =
  | 'inputProjection'
  | 'recurrentAffine'
  | 'readout'
  | 'forward'
  | 'solveUWb'
  | 'solveVc'
  | 'accumulateUWb'
  | 'solveUWbFromGram'
  | 'accumulateVc'
  | 'solveVcFromGram'
  | 'tanh'
  | 'aStep'
  | 'sStep'
  | 'oStep'
  | 'sgemm'
  | 'adjointMultipliers'
  | 'localDualWalk'
  | 'bpttGradients'
  | 'bpttLoss'
  | 'scratchBytes'
  | 'releaseScratch';

export type NativeEntry = [
  Expect<Equal<keyof typeof entry, 'native' | 'bpttNative' | 'OPENBLAS_THREAD_TIMEOUT'>>,
  Expect<Equal<typeof entry.native, NativeBinding>>,
  Expect<Equal<typeof entry.bpttNative, NativeBinding>>,
  Expect<Equal<BpttBinding, Pick<NativeBinding, keyof BpttBinding>>>,
  Expect<Equal<keyof NativeBinding, Op | `${Op}Async` | 'getThreads' | 'setThreads' | 'napiVersion'>>,
  Expect<Equal<NativeBinding['forward'], (args: ForwardArgs) => void>>,
  Expect<Equal<NativeBinding['forwardAsync'], (args: ForwardArgs) => Promise<void>>>,
  Expect<Equal<NativeShape, { N: number; T: number; d: number; h: number; K: number; everyStep: boolean }>>,
  Expect<Equal<ReturnType<NativeBinding['getThreads']>, ThreadCounts>>,
  Expect<Equal<keyof BpttBinding, 'bpttGradients' | 'bpttGradientsAsync' | 'bpttLoss' | 'bpttLossAsync'>>,
  Expect<Equal<BpttGradientsResult, { loss: number; correct: number; count: number }>>,
];
