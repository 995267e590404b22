// Helpers for this package's unit tests (not exported).
import { Tensor, TorchGenerator } from "@pagkit/tensor"
import type { Scheduler } from "../scheduler.js"
import { syntheticModel } from "../testing.js"

/** Deterministic pseudo-random latents in [-1, 1), shape [1, 4, 4, 4] by default. */
export function testLatents(seed = 1, shape: readonly number[] = [1, 4, 4, 4]): Tensor<"float32"> {
  let state = seed * 2654435761
  const size = shape.reduce((a, b) => a * b, 1)
  const data = Float32Array.from({ length: size }, () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0
    return state / 2 ** 31 - 1
  })
  return new Tensor("float32", data, shape)
}

/** Runs the whole loop with the oracles' synthetic model; returns the final latents. */
export function runLoop(scheduler: Scheduler, x0: Tensor<"float32"> = testLatents()): Tensor<"float32"> {
  let x = new Tensor(
    "float32",
    x0.data.map((v) => v * scheduler.initNoiseSigma),
    x0.shape,
  )
  scheduler.timesteps.forEach((t, k) => {
    const eps = syntheticModel(scheduler.scaleModelInput(x, t), t, k)
    x = scheduler.step(eps, t, x, { generator: new TorchGenerator(1000 + k) }).prevSample
  })
  return x
}

/** True when every value is finite. */
export function allFinite(x: Tensor<"float32">): boolean {
  return x.data.every((v) => Number.isFinite(v))
}

/** True when the sequence strictly decreases. */
export function strictlyDecreasing(values: readonly number[]): boolean {
  return values.every((v, i) => i === 0 || v < values[i - 1]!)
}
