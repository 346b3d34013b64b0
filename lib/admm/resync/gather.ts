/** Copies the samples of a mini-batch (inputs and targets) into reusable contiguous buffers. */
import type { TargetLayout } from '../../data';
import type { NativeInputs } from '../../native';
import { sharedFloats } from '../../in-shared-memory';

export class BatchGatherer {
  private readonly x?: Float32Array;
  private readonly ids?: Int32Array;
  private readonly labels?: Int32Array;
  private readonly values?: Float32Array;

  /** `inputStride` floats or ids per sample (T·d or T), `targetStride` targets per sample (L or L·K). */
  constructor(
    private readonly inputs: NativeInputs,
    private readonly targets: TargetLayout,
    private readonly inputStride: number,
    private readonly targetStride: number,
    capacity: number
  ) {
    // Float buffers on shared memory: the async kernels read them in place (in-shared-memory.ts).
    if (inputs.x) this.x = sharedFloats(capacity * inputStride);
    else this.ids = new Int32Array(capacity * inputStride);
    if (targets.loss === 'squared-error') this.values = sharedFloats(capacity * targetStride);
    else this.labels = new Int32Array(capacity * targetStride);
  }

  /** Views of the batch's inputs and targets (valid until the next gather). */
  gather(indices: Int32Array): { inputs: NativeInputs; targets: TargetLayout } {
    const n = indices.length,
      is = this.inputStride,
      ts = this.targetStride;
    const copy = <A extends Float32Array | Int32Array>(from: A, to: A, stride: number) => {
      for (let j = 0; j < n; j++) to.set(from.subarray(indices[j] * stride, (indices[j] + 1) * stride), j * stride);
      return to.subarray(0, n * stride) as A;
    };
    const inputs: NativeInputs = this.inputs.x
      ? { x: copy(this.inputs.x, this.x!, is) }
      : { ids: copy(this.inputs.ids!, this.ids!, is) };
    const targets: TargetLayout =
      this.targets.loss === 'squared-error'
        ? { loss: 'squared-error', values: copy(this.targets.values, this.values!, ts) }
        : { loss: 'softmax-cross-entropy', labels: copy(this.targets.labels, this.labels!, ts) };
    return { inputs, targets };
  }
}
