import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import { ImageError } from "../errors.js"
import { toFloat16 } from "../ops/cast.js"
import { Tensor } from "../tensor.js"
import { loadImage } from "./load.js"
import { pilResize, pixels8ToTensor, tensorToPixels8 } from "./pil-resize.js"
import type { PilFilter } from "./pil-resize.js"

interface Reference {
  cases: { width: number; height: number; rgb: string; resized: { width: number; height: number; filter: PilFilter; rgb: string }[] }[]
}
const reference = JSON.parse(readFileSync(new URL("./pil-reference.json", import.meta.url), "utf8")) as Reference
const oracleImage = new URL("../../../tiny-models/oracles/images/ip-ref-48x40.png", import.meta.url).pathname
const bytes = (b64: string) => new Uint8Array(Buffer.from(b64, "base64"))

describe("pilResize", () => {
  it("matches Pillow's Image.resize bit for bit (bicubic, lanczos, bilinear; up and down)", () => {
    for (const c of reference.cases) {
      const image = { data: bytes(c.rgb), width: c.width, height: c.height, channels: 3 }
      for (const r of c.resized) {
        const out = pilResize(image, { width: r.width, height: r.height, filter: r.filter })
        expect(Buffer.from(out.data).equals(Buffer.from(bytes(r.rgb))), `${c.width}×${c.height} → ${r.width}×${r.height} ${r.filter}`).toBe(true)
      }
    }
  })

  it("the torch flavor (int16 weights) differs from PIL's only by rounding", () => {
    const c = reference.cases[1]!
    const image = { data: bytes(c.rgb), width: c.width, height: c.height, channels: 3 }
    const pil = pilResize(image, { width: 38, height: 32, filter: "bicubic" })
    const torch = pilResize(image, { width: 38, height: 32, filter: "bicubic", flavor: "torch" })
    let differing = 0
    pil.data.forEach((v, i) => {
      expect(Math.abs(v - torch.data[i]!)).toBeLessThanOrEqual(1)
      if (v !== torch.data[i]) differing++
    })
    expect(differing).toBeGreaterThan(0)
  })

  it("round-trips tensors in [0, 1] through 8-bit pixels", async () => {
    const image = await loadImage(oracleImage)
    expect(Array.from(pixels8ToTensor(tensorToPixels8(image)).data)).toEqual(Array.from(image.data))
  })

  it("reads float16 and uint8 tensors by value and picks the indexed image of a batch", () => {
    const values = [0, 0.25, 0.5, 1, 0.75, 0.125]
    const planar = values.map((v) => Math.round(v * 255)) // [0, 64, 128, 255, 191, 32]
    const expected = [0, 255, 64, 191, 128, 32] // interleaved [H, W, C] for C = 2
    const float32 = Tensor.fromArray(values, [1, 2, 1, 3])
    expect(Array.from(tensorToPixels8(float32).data)).toEqual(expected)
    expect(Array.from(tensorToPixels8(toFloat16(float32)).data)).toEqual(expected)
    expect(Array.from(tensorToPixels8(new Tensor("uint8", Uint8Array.from(planar), [1, 2, 1, 3])).data)).toEqual(expected)
    const second = values.map((v) => 1 - v)
    const batch = Tensor.fromArray([...values, ...second], [2, 2, 1, 3])
    expect(Array.from(tensorToPixels8(batch, 1).data)).toEqual(Array.from(tensorToPixels8(Tensor.fromArray(second, [1, 2, 1, 3])).data))
    expect(() => tensorToPixels8(batch, 2)).toThrow(/index 2 is out of range/)
  })

  it("rejects a non-integer target and a tensor that is not [N, C, H, W]", () => {
    const image = { data: new Uint8Array(12), width: 2, height: 2, channels: 3 }
    expect(() => pilResize(image, { width: 1.5, height: 2, filter: "bicubic" })).toThrow(ImageError)
    expect(() => tensorToPixels8(Tensor.zeros([3, 2, 2], "float32"))).toThrow(ImageError)
    // a buffer that does not hold width × height × channels bytes (here 2×2 RGB needs 12)
    expect(() => pilResize({ ...image, data: new Uint8Array(9) }, { width: 3, height: 3, filter: "bicubic" })).toThrow(/expected 2×2×3 interleaved bytes/)
    expect(() => pilResize({ ...image, width: 0, data: new Uint8Array(0) }, { width: 3, height: 3, filter: "bicubic" })).toThrow(ImageError)
  })
})
