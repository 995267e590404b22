// End to end: the real page in headless Chromium against the real server (local mode) and the tiny model.
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { Browser, Page } from "playwright-core"
import { loadImage } from "@pagkit/tensor"
import { tinyModelPath } from "@pagkit/tiny-models"
import { startStudio } from "./server/main.js"
import type { RunningStudio } from "./server/main.js"
import { ensureChromium, launchChromium } from "./testing/browser.js"

const chromium = ensureChromium() // installs Debian's chromium when missing (root, as in CI)
if (!chromium.ok) console.warn(`\n\n!!!!! studio e2e test SKIPPED: ${chromium.reason} !!!!!\n\n`)

describe.skipIf(!chromium.ok)("studio page in headless Chromium", () => {
  let studio: RunningStudio
  let browser: Browser
  let page: Page

  beforeAll(async () => {
    studio = await startStudio({ modelDir: tinyModelPath("tiny-sdxl-shapes"), port: 0, host: "127.0.0.1", redis: undefined })
    const launched = await launchChromium()
    if ("skip" in launched) throw new Error(launched.skip)
    browser = launched.browser
    page = await browser.newPage({ viewport: { width: 1180, height: 900 } })
    await page.goto(studio.url)
    await page.waitForSelector("#layers input:checked")
  })

  afterAll(async () => {
    await browser?.close()
    await studio?.close()
  })

  const state = (card: "off" | "on") => page.getAttribute(`#card-${card}`, "data-state")
  const waitState = (card: "off" | "on", states: string[]) =>
    page.waitForFunction(([c, s]) => s.includes(document.querySelector(`#card-${c}`)?.getAttribute("data-state") ?? ""), [card, states] as const, { timeout: 60_000 })

  it("shows the model's hookable layers with the default ones checked", async () => {
    expect(await page.locator("#layers input").count()).toBe(17)
    const checked = await page.locator("#layers input:checked").evaluateAll((boxes) => boxes.map((b) => (b as HTMLInputElement).value))
    expect(checked).toEqual(["mid_block.attentions.0.transformer_blocks.0.attn1", "mid_block.attentions.0.transformer_blocks.1.attn1"])
    expect(await page.textContent("#model-name")).toContain("tiny-sdxl-shapes")
  })

  it("a prompt gives a PAG-off and a PAG-on image that differ, with progress to the last step", async () => {
    await page.fill("#prompt", "a red circle on a white background")
    await page.fill("#steps", "5")
    await page.fill("#seed", "3")
    await page.fill("#pag-scale", "3")
    await page.click("#generate")
    await waitState("off", ["done", "failed"])
    await waitState("on", ["done", "failed"])
    expect(await page.textContent("#error")).toBe("")
    expect(await page.textContent("#card-off .progress")).toBe("done · step 5/5")
    expect(await page.textContent("#card-on .progress")).toBe("done · step 5/5")
    const srcs = await page.locator("#pair img").evaluateAll((imgs) => imgs.map((i) => (i as HTMLImageElement).src))
    expect(srcs).toHaveLength(2)
    const [off, on] = await Promise.all(srcs.map(async (src) => loadImage(new Uint8Array(await (await fetch(src)).arrayBuffer()))))
    expect(off!.shape).toEqual([1, 3, 64, 64])
    expect(on!.shape).toEqual([1, 3, 64, 64])
    let diff = 0
    for (let i = 0; i < off!.data.length; i++) diff = Math.max(diff, Math.abs(off!.data[i]! - on!.data[i]!))
    expect(diff).toBeGreaterThan(0.05) // PAG changes the picture
    await page.waitForSelector("#history figure")
    expect(await page.locator("#history figure img").count()).toBe(2)
  })

  it("cancel stops both jobs after their current step and leaves no image", async () => {
    await page.fill("#steps", "150")
    await page.click("#generate")
    await page.waitForFunction(() => /step [1-9]/.test(document.querySelector("#card-off .progress")?.textContent ?? ""), undefined, { timeout: 60_000 })
    await page.click("#cancel")
    await waitState("off", ["cancelled", "done", "failed"])
    await waitState("on", ["cancelled", "done", "failed"])
    expect(await state("off")).toBe("cancelled")
    expect(await state("on")).toBe("cancelled")
    const progress = await page.textContent("#card-off .progress")
    const step = Number(/step (\d+)\/150/.exec(progress ?? "")?.[1])
    expect(step).toBeGreaterThan(0)
    expect(step).toBeLessThan(150)
    expect(await page.locator("#card-off img").getAttribute("src")).toBeNull()
    expect(await page.isEnabled("#generate")).toBe(true)
  })

  it("a bad input shows the server's message naming the field", async () => {
    await page.fill("#steps", "4")
    await page.fill("#width", "65")
    await page.click("#generate")
    await page.waitForSelector("#error:not(:empty)")
    expect(await page.textContent("#error")).toMatch(/^width: .*multiple of 8.*found 65/)
    await page.fill("#width", "64")
  })

  it("inpaints inside a mask drawn on the canvas", async () => {
    await page.selectOption("#task", "inpainting")
    await page.click("#history img[src] >> nth=1") // a finished PAG-on result as the input image
    const mask = page.locator("#mask-canvas")
    await mask.scrollIntoViewIfNeeded()
    const box = (await mask.boundingBox())!
    await page.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.3)
    await page.mouse.down()
    await page.mouse.move(box.x + box.width * 0.7, box.y + box.height * 0.7, { steps: 10 })
    await page.mouse.up()
    await page.fill("#steps", "5")
    await page.click("#generate")
    await waitState("on", ["done", "failed", "rejected"])
    expect(await page.textContent("#error")).toBe("")
    expect(await state("off")).toBe("done")
    expect(await state("on")).toBe("done")
    expect(await page.textContent("#card-on .progress")).toBe("done · step 3/3") // 5 steps × strength 0.6
  })
})
