export { TorchGenerator } from "./torch-generator.js"
export type { RandomDType, RandomOptions, TorchGeneratorState } from "./torch-generator.js"
export { InvalidSeedError, UnsupportedRandomDTypeError } from "./errors.js"
