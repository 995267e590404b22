import { describe, expect, it } from "vitest"
import { TorchGenerator } from "./torch-generator.js"

// Golden values from an independent C++ model of torch 2.11's CPU Half kernels
// (std::mt19937, glibc logf/sqrtf/cosf/sinf/log1p, F16C rounding); the JS transform also matches
// that model on all 2048 x 2048 uniform pairs of one Box–Muller lane.
const RANDN_40 = [
  0xc093, 0xba7f, 0x3a7a, 0xbe95, 0xbc78, 0x387c, 0x32ce, 0xbb78, 0x2524, 0x3eb7, 0xbc8a, 0x3a7d, 0x266d, 0xbbde,
  0xb788, 0x351a, 0xa812, 0x3008, 0x35fb, 0xb2cf, 0xbc7e, 0xb997, 0x3c66, 0x3927, 0x2c4b, 0x39b5, 0xb96a, 0x392d,
  0x3a5f, 0xba1b, 0xbc1e, 0xb252, 0xb958, 0x3e9b, 0xbc79, 0x3635, 0xb917, 0xaa05, 0x3877, 0x3d3c,
]
const RANDN_7 = [0xbdce, 0xb909, 0x30f1, 0xb3f0, 0x3742, 0x2231, 0x3d5e]
const RAND_10 = [0x3bc7, 0x2d28, 0x3afd, 0x3aae, 0x3442, 0x2b10, 0x3801, 0x3b55, 0x2b50, 0x36ee]

describe("float16 draws (torch 2.11 Half kernels)", () => {
  it("randn (block path with a tail), randn (serial path) and rand continue one stream", () => {
    const generator = new TorchGenerator(3)
    const block = generator.randn([40], { dtype: "float16" })
    expect(block.dtype).toBe("float16")
    expect(Array.from(block.data)).toEqual(RANDN_40)
    expect(Array.from(generator.randn([7], { dtype: "float16" }).data)).toEqual(RANDN_7)
    expect(Array.from(generator.rand([2, 5], { dtype: "float16" }).data)).toEqual(RAND_10)
  })
})
