/** Checkpoints: versioned safetensors files with the model, its task and optionally the ADMM run state. */
export { CHECKPOINT_FORMAT, CHECKPOINT_VERSION } from './format';
export type { Checkpoint, LoadedCheckpoint, ShardedRunInfo, TaskInfo, TrainerInfo } from './format';
export { encodeCheckpoint, saveCheckpoint } from './write';
export { decodeCheckpoint, readCheckpoint } from './read';
export type { ReadCheckpointOptions } from './read';
export { encodeSafetensors, decodeSafetensors } from './safetensors';
export type { Tensor, SafetensorsContents } from './safetensors';
export { writeFileAtomic } from './atomic';
