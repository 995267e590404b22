/** torch-compatible random numbers: `TorchGenerator` (MT19937 + torch's CPU sampling kernels). */
export { TorchGenerator } from "./torch-generator.js"
export type { RandomDType, RandomOptions, TorchGeneratorState } from "./torch-generator.js"
export { InvalidGeneratorStateError, InvalidSeedError, UnsupportedRandomDTypeError } from "./errors.js"
