import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import sharp from "sharp"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ImageError } from "../errors.js"
import { Tensor } from "../tensor.js"
import { encodePng, saveImage } from "./encode.js"
import { loadImage, loadImageGray } from "./load.js"
import { resizeImage } from "./resize.js"

const images = new URL("../../../tiny-models/oracles/images/", import.meta.url).pathname

let dir = ""
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "pagkit-img-"))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** Sum of the 8-bit pixel values a [0, 1] tensor came from. */
const byteSum = (t: Tensor) => [...t.data].reduce((s: number, v) => s + Math.round(Number(v) * 255), 0)

function raw(values: number[], width: number, height: number, channels: 1 | 2 | 3 | 4) {
  return sharp(new Uint8Array(values), { raw: { width, height, channels } })
}

describe("loadImage / loadImageGray", () => {
  it("loads the oracle images exactly (sums checked with an independent PNG decoder)", async () => {
    const init = await loadImage(join(images, "init-64.png"))
    expect(init.dtype).toBe("float32")
    expect(init.shape).toEqual([1, 3, 64, 64])
    expect(byteSum(init)).toBe(1482302)
    // pixel (y 5, x 7) = [19, 26, 255]
    expect([init.get(0, 0, 5, 7), init.get(0, 1, 5, 7), init.get(0, 2, 5, 7)]).toEqual([
      Math.fround(19 / 255),
      Math.fround(26 / 255),
      1,
    ])
    const ref = await loadImage(await readFile(join(images, "ip-ref-48x40.png")))
    expect(ref.shape).toEqual([1, 3, 40, 48])
    expect(byteSum(ref)).toBe(761629)
    const mask = await loadImageGray(join(images, "mask-64.png"))
    expect(mask.shape).toEqual([1, 1, 64, 64])
    expect(byteSum(mask)).toBe(261120)
    expect(byteSum(await loadImageGray(join(images, "ip-ref-48x40.png")))).toBe(239349)
  })

  it("drops alpha without compositing and expands grayscale", async () => {
    const rgba = await raw([200, 100, 50, 0, 10, 20, 30, 255], 2, 1, 4).png().toBuffer()
    const loaded = await loadImage(rgba)
    expect(loaded.shape).toEqual([1, 3, 1, 2])
    expect([...loaded.data].map((v) => Math.round(v * 255))).toEqual([200, 10, 100, 20, 50, 30])
    const gray = await raw([0, 128, 255], 3, 1, 1).png().toBuffer()
    const expanded = await loadImage(gray)
    expect(expanded.shape).toEqual([1, 3, 1, 3])
    expect([...expanded.data].map((v) => Math.round(v * 255))).toEqual([0, 128, 255, 0, 128, 255, 0, 128, 255])
    const grayAlpha = await raw([90, 0, 180, 255], 2, 1, 2).png().toBuffer()
    expect([...(await loadImageGray(grayAlpha)).data].map((v) => Math.round(v * 255))).toEqual([90, 180])
  })

  it("computes gray like PIL convert('L')", async () => {
    const rgb = await raw([255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 200, 30], 4, 1, 3).png().toBuffer()
    const gray = await loadImageGray(rgb)
    // (r*19595 + g*38470 + b*7471 + 0x8000) >> 16
    expect([...gray.data].map((v) => Math.round(v * 255))).toEqual([76, 150, 29, 124])
  })

  it("reads JPEG and lossless WebP", async () => {
    const pixels = [0, 50, 100, 150, 200, 250, 25, 75, 125, 175, 225, 255]
    const webp = await raw(pixels, 2, 2, 3).webp({ lossless: true }).toBuffer()
    expect([...(await loadImage(webp)).data].map((v) => Math.round(v * 255))).toEqual([0, 150, 25, 175, 50, 200, 75, 225, 100, 250, 125, 255])
    const jpeg = await raw(new Array(16 * 16 * 3).fill(128), 16, 16, 3).jpeg({ quality: 95 }).toBuffer()
    const loaded = await loadImage(jpeg)
    expect(loaded.shape).toEqual([1, 3, 16, 16])
    for (const v of loaded.data) expect(Math.abs(v * 255 - 128)).toBeLessThanOrEqual(2)
  })

  it("throws ImageError naming the file for missing or corrupt input", async () => {
    await expect(loadImage(join(dir, "missing.png"))).rejects.toThrow(/missing\.png/)
    const bad = join(dir, "bad.png")
    await writeFile(bad, new Uint8Array([1, 2, 3, 4]))
    const error = await loadImage(bad).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ImageError)
    expect((error as ImageError).code).toBe("IMAGE_UNREADABLE")
    expect((error as Error).message).toContain("bad.png")
    const png = await readFile(join(images, "init-64.png"))
    await expect(loadImage(png.subarray(0, 200))).rejects.toThrow(ImageError)
  })
})

describe("encodePng / saveImage", () => {
  it("quantises like numpy_to_pil ((x * 255).round(), half to even) and clamps", async () => {
    // 0.5*255 = 127.5 -> 128 (even); 2.5/255*255 = 2.5 -> 2; -1 -> 0; 2 -> 255; NaN -> 0
    const values = [0.5, 2.5 / 255, -1, 2, Number.NaN, 1]
    const image = Tensor.fromArray(values, [1, 1, 2, 3])
    const [png] = await encodePng(image)
    expect((await sharp(png!).metadata()).channels).toBe(1) // a grayscale PNG
    const { data } = await sharp(png!).extractChannel(0).raw().toBuffer({ resolveWithObject: true })
    // fround(fround(2.5 / 255) * 255) is exactly 2.5 in float32
    expect(Math.fround(Math.fround(2.5 / 255) * 255)).toBe(2.5)
    expect([...data]).toEqual([128, 2, 0, 255, 0, 255])
  })

  it("round-trips a batch of RGB images through PNG exactly", async () => {
    const batch = new Tensor("float32", Float32Array.from({ length: 2 * 3 * 4 * 5 }, (_, i) => (i % 256) / 255), [2, 3, 4, 5])
    const pngs = await encodePng(batch)
    expect(pngs).toHaveLength(2)
    const second = await loadImage(pngs[1]!)
    expect([...second.data]).toEqual([...batch.data].slice(60))
  })

  it("saves one image by extension and refuses a batch", async () => {
    const image = Tensor.fromArray([1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1], [3, 2, 2])
    const path = join(dir, "out.png")
    await saveImage(image, path)
    expect([...(await loadImage(path)).data]).toEqual([...image.data])
    await saveImage(image, join(dir, "out.webp"))
    expect((await sharp(join(dir, "out.webp")).metadata()).format).toBe("webp")
    await expect(saveImage(Tensor.zeros([2, 3, 2, 2]), join(dir, "x.png"))).rejects.toThrow(/batch of 2/)
    await expect(saveImage(image, join(dir, "no/dir/x.png"))).rejects.toThrow(/no\/dir\/x\.png/)
    await expect(encodePng(Tensor.zeros([1, 2, 2, 2]))).rejects.toThrow(/C = 1, 3 or 4/)
  })
})

describe("resizeImage", () => {
  it("resizes to exact sizes with each filter", async () => {
    const image = new Tensor("float32", Float32Array.from({ length: 3 * 8 * 8 }, (_, i) => ((i * 37) % 256) / 255), [1, 3, 8, 8])
    for (const filter of ["nearest", "bilinear", "bicubic", "lanczos"] as const) {
      const out = await resizeImage(image, { width: 4, height: 6, filter })
      expect(out.shape).toEqual([1, 3, 6, 4])
      for (const v of out.data) expect(v >= 0 && v <= 1).toBe(true)
    }
    // nearest 2x upscale of a constant-per-channel image stays exact
    const flat = Tensor.fromArray([0.2, 0.2, 0.2, 0.2].map((v) => Math.round(v * 255) / 255), [1, 1, 2, 2])
    const up = await resizeImage(flat, { width: 4, height: 4, filter: "nearest" })
    expect(new Set(up.data).size).toBe(1)
    expect(up.data[0]).toBe(Math.fround(51 / 255))
  })

  it("keeps the batch and rejects bad sizes", async () => {
    const out = await resizeImage(Tensor.zeros([2, 3, 4, 4]), { width: 2, height: 2 })
    expect(out.shape).toEqual([2, 3, 2, 2])
    await expect(resizeImage(Tensor.zeros([1, 3, 4, 4]), { width: 0, height: 2 })).rejects.toThrow(ImageError)
  })
})
