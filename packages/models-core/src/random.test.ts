import { describe, expect, it } from "vitest"
import { TorchGenerator, readSafetensors } from "@pagkit/tensor"
import { ModelInputError } from "./errors.js"
import { tinyOracle } from "./internal/fixtures.js"
import { randnTensor } from "./random.js"

describe("randnTensor", () => {
  it("one generator: one torch.randn call for the whole shape (oracle noise.0 of sdxl-t2i-cfg)", async () => {
    const oracle = await readSafetensors(tinyOracle("sdxl-t2i-cfg.safetensors"), ["noise.0"])
    const noise = randnTensor([1, 4, 32, 32], new TorchGenerator(0))
    expect(Array.from(noise.data)).toEqual(Array.from(oracle.get("noise.0")!.data as Float32Array))
  })

  it("a list of generators: one [1, …] draw per row", () => {
    const batch = randnTensor([2, 4, 8, 8], [new TorchGenerator(3), new TorchGenerator(4)])
    const row0 = new TorchGenerator(3).randn([1, 4, 8, 8]).data
    const row1 = new TorchGenerator(4).randn([1, 4, 8, 8]).data
    expect(Array.from(batch.data.subarray(0, 256))).toEqual(Array.from(row0))
    expect(Array.from(batch.data.subarray(256))).toEqual(Array.from(row1))
    // a list of one generator is a single generator
    expect(Array.from(randnTensor([2, 4], [new TorchGenerator(1)]).data)).toEqual(
      Array.from(new TorchGenerator(1).randn([2, 4]).data),
    )
    expect(() => randnTensor([3, 4], [new TorchGenerator(1), new TorchGenerator(2)])).toThrow(ModelInputError)
  })

  it("without a generator still gives standard normal noise", () => {
    const noise = randnTensor([4096])
    const mean = noise.data.reduce((a, b) => a + b, 0) / noise.size
    expect(Math.abs(mean)).toBeLessThan(0.1)
  })
})
