import { Tensor, TorchGenerator } from "@pagkit/tensor"
import type { Shape } from "@pagkit/tensor"
import { ModelInputError } from "./errors.js"

/** One generator for the whole batch, or one per batch row (diffusers' list of generators). */
export type GeneratorInput = TorchGenerator | readonly TorchGenerator[]

function toFloat32(t: Tensor): Tensor<"float32"> {
  if (t.dtype === "float32") return t as Tensor<"float32">
  throw new ModelInputError(`randnTensor: expected float32 noise from the generator, found ${t.describe()}.`)
}

/**
 * Standard normal noise with diffusers' `randn_tensor` semantics
 * (port of `diffusers/utils/torch_utils.py`, `randn_tensor`):
 * - one generator: ONE `torch.randn(shape)` call for the whole shape;
 * - a list of generators: one call of shape `[1, ...shape[1:]]` per batch row, row `i` from generator `i`
 *   (a list of length 1 counts as a single generator);
 * - no generator: a freshly seeded generator (non-reproducible, like torch's global RNG).
 *
 * @example
 * const noise = randnTensor([1, 4, 32, 32], new TorchGenerator(0)) // = torch.randn(..., generator=manual_seed(0))
 */
export function randnTensor(shape: Shape, generator?: GeneratorInput): Tensor<"float32"> {
  if (generator === undefined) {
    const seed = BigInt(Math.floor(Math.random() * 2 ** 32)) * 2n ** 20n + BigInt(Math.floor(Math.random() * 2 ** 20))
    return toFloat32(new TorchGenerator(seed).randn(shape))
  }
  if (!Array.isArray(generator)) return toFloat32((generator as TorchGenerator).randn(shape))
  const generators = generator as readonly TorchGenerator[]
  if (generators.length === 1) return toFloat32(generators[0]!.randn(shape))
  const batch = shape[0] ?? 0
  if (generators.length !== batch) {
    throw new ModelInputError(
      `randnTensor: ${generators.length} generators were passed for a batch of ${batch} (shape [${shape.join(", ")}]). ` +
        `Pass one generator, or exactly one per batch row.`,
    )
  }
  const rowShape = [1, ...shape.slice(1)]
  const rowSize = rowShape.reduce((a, b) => a * b, 1)
  const out = new Float32Array(rowSize * batch)
  generators.forEach((g, i) => out.set(toFloat32(g.randn(rowShape)).data, i * rowSize))
  return new Tensor("float32", out, shape)
}
