import { describe, expect, it } from "vitest"
import { createProgress } from "./progress.js"

function fakeStream(isTTY: boolean): { stream: NodeJS.WriteStream; text: () => string } {
  const chunks: string[] = []
  const stream = { isTTY, write: (s: string) => (chunks.push(s), true) } as unknown as NodeJS.WriteStream
  return { stream, text: () => chunks.join("") }
}

describe("createProgress", () => {
  it("writes one plain line per step off a terminal", () => {
    const { stream, text } = fakeStream(false)
    const progress = createProgress(stream, "generate")
    progress.step(1, 2, 999)
    progress.step(2, 2, 1)
    progress.finish("done")
    expect(text()).toBe("generate: step 1/2 (t=999)\ngenerate: step 2/2 (t=1)\ndone\n")
  })

  it("redraws a bar in place on a terminal, and keeps redrawing between steps", async () => {
    const { stream, text } = fakeStream(true)
    const progress = createProgress(stream, "generate")
    progress.step(1, 4, 750)
    const drawsAfterStep = text().split("\r").length
    await new Promise((resolve) => setTimeout(resolve, 600))
    expect(text().split("\r").length).toBeGreaterThan(drawsAfterStep) // the clock moved without a new step
    progress.step(4, 4, 1)
    progress.finish("done")
    const lines = text().split("\n")
    expect(lines.at(-1)).toBe("")
    expect(lines.at(-2)).toBe("done")
    expect(lines[0]).toMatch(/\rgenerate █{24} 4\/4 {2}t=1 /)
    const before = text()
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(text()).toBe(before) // no redraw after finish
  })

  it("stop() ends the bar's line once", () => {
    const { stream, text } = fakeStream(true)
    const progress = createProgress(stream, "img2img")
    progress.step(1, 3, 500)
    progress.stop()
    progress.stop()
    expect(text().endsWith(" \n")).toBe(true)
    expect(text().split("\n")).toHaveLength(2)
  })
})
