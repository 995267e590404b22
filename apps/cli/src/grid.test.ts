import sharp from "sharp"
import { describe, expect, it } from "vitest"
import { composeGrid, gridLayout } from "./grid.js"

async function solid(width: number, height: number, r: number): Promise<Uint8Array> {
  return new Uint8Array(await sharp({ create: { width, height, channels: 3, background: { r, g: 0, b: 0 } } }).png().toBuffer())
}

describe("composeGrid", () => {
  it("lays out rows × seeds with a label column and a header row, images in their cells", async () => {
    const cells = await Promise.all([0, 1].map(async (r) => Promise.all([0, 1, 2].map(async (c) => solid(64, 48, 40 * (r * 3 + c) + 10)))))
    const rowLabels = ["pag 0", "pag 3 · mid"]
    const columnLabels = ["seed 0", "seed 1", "seed 2"]
    const { png, layout } = await composeGrid({ cells, rowLabels, columnLabels })
    expect(layout).toEqual(gridLayout({ rowLabels, columnLabels }, { width: 64, height: 48 }))
    const meta = await sharp(png).metadata()
    expect([meta.width, meta.height]).toEqual([layout.labelWidth + 3 * 64, layout.headerHeight + 2 * 48])
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true })
    const red = (x: number, y: number): number => data[(y * info.width + x) * info.channels]!
    for (let r = 0; r < 2; r++) {
      for (let c = 0; c < 3; c++) expect(red(layout.labelWidth + c * 64 + 32, layout.headerHeight + r * 48 + 24)).toBe(40 * (r * 3 + c) + 10)
    }
    expect(red(2, 2)).toBe(255) // white canvas in the corner
  })

  it("rejects labels that do not match the cells", async () => {
    await expect(composeGrid({ cells: [[await solid(8, 8, 0)]], rowLabels: ["a", "b"], columnLabels: ["s"] })).rejects.toThrow(/do not match/)
  })
})
