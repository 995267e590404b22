// Takes the README's screenshots: node --import tsx apps/studio/scripts/screenshots.ts (writes apps/studio/docs/*.png).
import { mkdirSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { tinyModelPath } from "@pagkit/tiny-models"
import { startStudio } from "../src/server/main.js"
import { launchChromium } from "../src/testing/browser.js"

const out = fileURLToPath(new URL("../docs/", import.meta.url))
mkdirSync(out, { recursive: true })
const studio = await startStudio({ modelDir: tinyModelPath("tiny-sdxl-shapes"), port: 0, host: "127.0.0.1", redis: undefined })
const launched = await launchChromium()
if ("skip" in launched) throw new Error(launched.skip)
const page = await launched.browser.newPage({ viewport: { width: 1180, height: 1000 } })
try {
  await page.goto(studio.url)
  await page.waitForSelector("#layers input")
  for (const [prompt, seed] of [["a big blue square on a yellow background", "3"], ["a red circle on a white background", "7"]] as const) {
    await page.fill("#prompt", prompt)
    await page.fill("#seed", seed)
    await page.fill("#steps", "12")
    await page.click("#generate")
    if (seed === "7") {
      await page.waitForFunction(() => /step [4-9]/.test(document.querySelector("#card-off .progress")?.textContent ?? ""), undefined, { timeout: 120_000 })
      await page.screenshot({ path: `${out}studio-progress.png`, clip: { x: 360, y: 44, width: 820, height: 600 } })
    }
    await page.waitForFunction(() => document.querySelector("#card-on")?.getAttribute("data-state") === "done", undefined, { timeout: 120_000 })
    await page.waitForFunction(() => [...document.querySelectorAll<HTMLImageElement>("#pair img")].every((i) => i.complete && i.naturalWidth > 0))
  }
  await page.screenshot({ path: `${out}studio-text2image.png` })
  // Inpainting: use the last PAG-on result as input, draw a mask stroke.
  await page.selectOption("#task", "inpainting")
  await page.click("#history img[src] >> nth=1")
  await page.locator("#mask-canvas").scrollIntoViewIfNeeded()
  const box = (await page.locator("#mask-canvas").boundingBox())!
  await page.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.3)
  await page.mouse.down()
  await page.mouse.move(box.x + box.width * 0.7, box.y + box.height * 0.6, { steps: 12 })
  await page.mouse.up()
  await page.fill("#prompt", "a green triangle on a white background")
  await page.click("#generate")
  await page.waitForFunction(() => document.querySelector("#card-off .progress")?.textContent?.includes("running") === true || document.querySelector("#error")?.textContent !== "", undefined, { timeout: 60_000 })
  const error = await page.textContent("#error")
  if (error !== "" && error !== null) throw new Error(`inpainting: ${error}`)
  await page.waitForFunction(() => document.querySelector("#card-on")?.getAttribute("data-state") === "done", undefined, { timeout: 120_000 })
  await page.waitForFunction(() => [...document.querySelectorAll<HTMLImageElement>("#pair img")].every((i) => i.complete && i.naturalWidth > 0))
  await page.evaluate(() => window.scrollTo(0, 0))
  await page.screenshot({ path: `${out}studio-inpainting.png` })
  await page.fill("#width", "65")
  await page.selectOption("#task", "text2image")
  await page.click("#generate")
  await page.waitForSelector("#error:not(:empty)")
  await page.screenshot({ path: `${out}studio-error.png`, clip: { x: 0, y: 0, width: 1180, height: 760 } })
} finally {
  await launched.browser.close()
  await studio.close()
}
