import { execFile } from "node:child_process"
import { existsSync, mkdtempSync, readdirSync } from "node:fs"
import { tmpdir } from "node:os"
import path from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { describe, expect, it } from "vitest"
import { loadImage } from "@pagkit/tensor"
import { tinyModelPath, tinyOraclesDir } from "@pagkit/tiny-models"

const run = promisify(execFile)
const main = path.join(path.dirname(fileURLToPath(import.meta.url)), "main.ts")

async function pagkit(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ["--import", "tsx", main, ...args], { env: { ...process.env, INIT_CWD: "" } })
    return { code: 0, stdout, stderr }
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

describe("pagkit CLI", () => {
  it("generates a PNG with the embedded model, printing plain progress lines off a terminal", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "pagkit-cli-"))
    const out = path.join(dir, "circle.png")
    const result = await pagkit(["generate", "--prompt", "a red circle on a white background", "--steps", "3", "--out", out])
    expect(result.stderr).toContain("generate: step 3/3")
    expect(result.code).toBe(0)
    const image = await loadImage(out)
    expect(image.shape).toEqual([1, 3, 64, 64])
  })

  it("runs SDXL + IP-Adapter Plus (the PyTorch .bin as published) + PAG", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "pagkit-cli-"))
    const out = path.join(dir, "bear.png")
    const ip = tinyModelPath("tiny-ip-adapter")
    const result = await pagkit([
      "generate", "--prompt", "a polar bear", "--model", tinyModelPath("tiny-sdxl"), "--width", "64", "--height", "64", "--steps", "2",
      "--guidance-scale", "3", "--pag-scale", "5", "--ip-adapter", path.join(ip, "ip-adapter-plus_tiny-sdxl.bin"),
      "--image-encoder", path.join(ip, "image_encoder"), "--ip-adapter-image", path.join(tinyOraclesDir(), "images", "ip-ref-48x40.png"),
      "--ip-adapter-scale", "0.7", "--out", out,
    ])
    expect(result.stderr).toContain("StableDiffusionXLPAGPipeline")
    expect(result.code).toBe(0)
    expect((await loadImage(out)).shape).toEqual([1, 3, 64, 64])
  })

  it("generates with a PixArt-Sigma folder and refuses img2img there", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "pagkit-cli-"))
    const model = path.join(path.dirname(main), "..", "..", "..", "packages", "tiny-models", "models", "tiny-pixart-sigma")
    const out = path.join(dir, "cactus.png")
    const result = await pagkit(["generate", "--prompt", "a small cactus", "--model", model, "--steps", "2", "--out", out])
    expect(result.code).toBe(0)
    expect(result.stderr).toContain("PixArtSigmaPAGPipeline")
    expect((await loadImage(out)).shape).toEqual([1, 3, 32, 32])
    const image = path.join(dir, "x.png")
    const refused = await pagkit(["img2img", "--prompt", "p", "--model", model, "--image", out, "--out", image])
    expect(refused.code).toBe(2)
    expect(refused.stderr).toMatch(/support "generate" only/)
  })

  it("names a missing model folder and writes nothing", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "pagkit-cli-"))
    const result = await pagkit(["generate", "--prompt", "p", "--model", path.join(dir, "nope"), "--out", path.join(dir, "x.png")])
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/model folder not found: .*nope/)
    expect(result.stderr).not.toMatch(/\n\s+at /)
    expect(readdirSync(dir)).toEqual([])
  })

  it("reports an unknown PAG layer pattern with the valid layers, without a stack trace", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "pagkit-cli-"))
    const out = path.join(dir, "x.png")
    const result = await pagkit(["generate", "--prompt", "p", "--pag-layers", "middle_block", "--steps", "1", "--out", out])
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/middle_block/)
    expect(result.stderr).toMatch(/mid_block\.attentions\.0/)
    expect(result.stderr).not.toMatch(/\n\s+at /)
    expect(existsSync(out)).toBe(false)
  })
})
