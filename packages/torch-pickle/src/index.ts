/**
 * @pagkit/torch-pickle: weights-only reader for PyTorch checkpoints (`torch.save` zip files). A pickle machine that
 * builds only data under the allow-list of `torch.load(weights_only=True)`; storages read lazily by file offset.
 * @module
 */
export { TorchPickleError } from "./errors.js"
export type { TorchPickleErrorCode } from "./errors.js"
export { TORCH_DTYPE_SIZE, isTorchTensorRef } from "./torch-tensor-ref.js"
export type { TorchDType, TorchStorageRef, TorchTensorRef } from "./torch-tensor-ref.js"
export { TorchCheckpoint, flattenStateDict, readTorchCheckpoint, readTorchStateDict } from "./torch-checkpoint.js"
export type { PickleKey, TorchData } from "./torch-checkpoint.js"
export { isTorchCheckpointFile } from "./sniff.js"
