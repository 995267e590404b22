import sharp from "sharp"
import { describe, expect, it } from "vitest"
import { Tensor, encodePng } from "@pagkit/tensor"
import { encodeImages, formatOf } from "./image-format.js"

describe("output formats", () => {
  it("picks the format from the extension", () => {
    expect(formatOf("a.png")).toBe("png")
    expect(formatOf("a.JPG")).toBe("jpeg")
    expect(formatOf("a.jpeg")).toBe("jpeg")
    expect(formatOf("a.webp")).toBe("webp")
    expect(() => formatOf("a.gif")).toThrow(/unsupported extension ".gif"; use .png, .jpg, .jpeg or .webp/)
    expect(() => formatOf("a")).toThrow(/no extension/)
  })

  it("writes JPEG and WebP bytes (not PNG bytes under another name), PNG exactly as encodePng", async () => {
    const images = new Tensor("float32", Float32Array.from({ length: 2 * 3 * 16 * 16 }, (_, i) => (i % 17) / 16), [2, 3, 16, 16])
    expect(await encodeImages(images, "png")).toEqual(await encodePng(images))
    for (const format of ["jpeg", "webp"] as const) {
      const encoded = await encodeImages(images, format)
      expect(encoded).toHaveLength(2)
      const meta = await sharp(encoded[0]!).metadata()
      expect(meta.format).toBe(format)
      expect([meta.width, meta.height]).toEqual([16, 16])
    }
  })
})
