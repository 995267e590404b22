import { execFile, execFileSync } from "node:child_process"
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import path from "node:path"
import { fileURLToPath } from "node:url"
import sharp from "sharp"
import { describe, expect, it } from "vitest"
import { folderFiles, startMockHub } from "@pagkit/hub/testing"
import { loadImage } from "@pagkit/tensor"
import { tinyModelPath, tinyOraclesDir } from "@pagkit/tiny-models"
import { gridLayout } from "./grid.js"

const main = path.join(path.dirname(fileURLToPath(import.meta.url)), "main.ts")
const models = path.join(path.dirname(main), "..", "..", "..", "packages", "tiny-models", "models")

interface Result {
  code: number
  stdout: string
  stderr: string
}

function pagkit(args: string[], env: Record<string, string> = {}): Promise<Result> {
  return new Promise((resolve) => {
    execFile(process.execPath, ["--import", "tsx", main, ...args], { env: { ...process.env, INIT_CWD: "", ...env } }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : ((error as { code?: number }).code ?? -1), stdout, stderr })
    })
  })
}

function tempDir(): string {
  return mkdtempSync(path.join(tmpdir(), "pagkit-cli-"))
}

function jsonLines(stdout: string): Record<string, unknown>[] {
  return stdout.trimEnd().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>)
}

describe("pagkit CLI", () => {
  it("generates a PNG with the embedded model, printing plain progress lines off a terminal", async () => {
    const dir = tempDir()
    const out = path.join(dir, "circle.png")
    const result = await pagkit(["generate", "--prompt", "a red circle on a white background", "--steps", "3", "--out", out])
    expect(result.stderr).toContain("generate: step 3/3")
    expect(result.code).toBe(0)
    expect(result.stdout).toBe(`${out}\n`)
    expect((await loadImage(out)).shape).toEqual([1, 3, 64, 64])
  })

  it("--json: only JSON events on stdout (start, progress, output, done), one image per seed, format from the extension", async () => {
    const dir = tempDir()
    const result = await pagkit(["generate", "-p", "a blue square", "-n", "2", "--seeds", "3-4", "-o", path.join(dir, "sq.webp"), "--json"])
    expect(result.code).toBe(0)
    expect(result.stderr).toBe("")
    const events = jsonLines(result.stdout)
    expect(events.map((e) => e["type"])).toEqual(["start", "progress", "progress", "progress", "progress", "output", "output", "done"])
    expect(events[1]).toEqual({ type: "progress", label: "generate seed 3", seed: 3, step: 1, steps: 2, timestep: expect.any(Number) })
    expect(events[5]).toEqual({ type: "output", file: path.join(dir, "sq-seed3.webp"), seed: 3, index: 0, width: 64, height: 64, format: "webp" })
    expect(events[7]).toMatchObject({ type: "done", files: [path.join(dir, "sq-seed3.webp"), path.join(dir, "sq-seed4.webp")], pipeline: "StableDiffusionXLPAGPipeline" })
    expect((await sharp(path.join(dir, "sq-seed4.webp")).metadata()).format).toBe("webp")
  })

  it("--json usage errors: one error event with a code, exit 2", async () => {
    const result = await pagkit(["generate", "--json", "-p", "x"])
    expect(result.code).toBe(2)
    expect(result.stderr).toBe("")
    expect(jsonLines(result.stdout)).toEqual([{ type: "error", code: "USAGE", exitCode: 2, message: expect.stringMatching(/--out \(-o\) is required/) }])
  })

  it("prints --version and per-command help, and passes --threads to the worker's sessions", async () => {
    const pkg = JSON.parse(readFileSync(path.join(path.dirname(main), "..", "package.json"), "utf8")) as { version: string }
    expect(await pagkit(["--version"])).toMatchObject({ code: 0, stdout: `${pkg.version}\n` })
    const help = await pagkit(["img2img", "--help"])
    expect(help.code).toBe(0)
    expect(help.stdout).toMatch(/--strength <x> .*img2img 0\.3, inpaint 0\.9999/)
    const threads = await pagkit(["generate", "-p", "x", "-n", "1", "--width", "32", "--height", "32", "-o", path.join(tempDir(), "x.png"), "--threads", "1"])
    expect(threads.code).toBe(0)
  })

  it("never replaces a FIFO, a symbolic link or an existing file without --force (checked before running)", async () => {
    const dir = tempDir()
    const fifo = path.join(dir, "fifo.png")
    execFileSync("mkfifo", [fifo])
    const refusedFifo = await pagkit(["generate", "-p", "x", "-o", fifo, "-f", "--json"])
    expect(refusedFifo.code).toBe(2)
    expect(jsonLines(refusedFifo.stdout)).toEqual([{ type: "error", code: "OUTPUT_NOT_REGULAR", exitCode: 2, message: expect.stringMatching(/FIFO/) }])
    expect(lstatSync(fifo).isFIFO()).toBe(true)
    const target = path.join(dir, "target.png")
    writeFileSync(target, "mine")
    const link = path.join(dir, "link.png")
    symlinkSync(target, link)
    const refusedLink = await pagkit(["generate", "-p", "x", "-o", link, "--force"])
    expect(refusedLink.code).toBe(2)
    expect(refusedLink.stderr).toMatch(/symbolic link/)
    const refusedExisting = await pagkit(["generate", "-p", "x", "-o", target])
    expect(refusedExisting.code).toBe(2)
    expect(refusedExisting.stderr).toMatch(/exists; pass --force \(-f\)/)
    expect(readFileSync(target, "utf8")).toBe("mine")
    expect(lstatSync(link).isSymbolicLink()).toBe(true)
  })

  it("--num-images 3 with the second target unwritable writes none of them", async () => {
    const dir = tempDir()
    mkdirSync(path.join(dir, "x-2.png"))
    const result = await pagkit(["generate", "-p", "x", "-n", "1", "--num-images", "3", "-o", path.join(dir, "x.png"), "-f"])
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/x-2\.png is a folder/)
    expect(readdirSync(dir)).toEqual(["x-2.png"])
  })

  it("generates with a PixArt-Sigma folder and refuses img2img there", async () => {
    const dir = tempDir()
    const model = path.join(models, "tiny-pixart-sigma")
    const out = path.join(dir, "cactus.png")
    const result = await pagkit(["generate", "--prompt", "a small cactus", "--model", model, "--steps", "2", "--out", out])
    expect(result.code).toBe(0)
    expect(result.stderr).toContain("PixArtSigmaPAGPipeline")
    expect((await loadImage(out)).shape).toEqual([1, 3, 32, 32])
    const refused = await pagkit(["img2img", "--prompt", "p", "--model", model, "--image", out, "--out", path.join(dir, "x.png")])
    expect(refused.code).toBe(2)
    expect(refused.stderr).toMatch(/support "generate" only/)
  })

  it("runs SDXL + two IP-Adapters (Plus as the published PyTorch .bin, and base) + PAG", async () => {
    const dir = tempDir()
    const out = path.join(dir, "bear.png")
    const ip = tinyModelPath("tiny-ip-adapter")
    const result = await pagkit([
      "generate", "-p", "a polar bear", "-m", tinyModelPath("tiny-sdxl"), "--width", "64", "--height", "64", "-n", "2",
      "-g", "3", "--pag-scale", "5", "--ip-adapter", path.join(ip, "ip-adapter-plus_tiny-sdxl.bin"),
      "--ip-adapter", path.join(ip, "ip-adapter_tiny-sdxl.safetensors"), "--image-encoder", path.join(ip, "image_encoder"),
      "--ip-adapter-image", path.join(tinyOraclesDir(), "images", "ip-ref-48x40.png"), "--ip-adapter-scale", "0.7", "--ip-adapter-scale", "0.3", "-o", out,
    ])
    expect(result.stderr).toContain("StableDiffusionXLPAGPipeline")
    expect(result.code).toBe(0)
    expect((await loadImage(out)).shape).toEqual([1, 3, 64, 64])
  })

  it("names a missing model folder, downloads a hub id from a (loopback mock) hub, and names a missing repository", async () => {
    const dir = tempDir()
    const missing = await pagkit(["generate", "--prompt", "p", "--model", path.join(dir, "nope"), "--out", path.join(dir, "x.png")])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toMatch(/model folder not found: .*nope/)
    expect(missing.stderr).not.toMatch(/\n\s+at /)
    const hub = await startMockHub({ "pagkit/tiny-sdxl-shapes": folderFiles(tinyModelPath("tiny-sdxl-shapes")) })
    try {
      const env = { HF_ENDPOINT: hub.url, HF_HOME: tempDir() }
      const missingRepo = await pagkit(["generate", "-p", "p", "-m", "pagkit/nope", "-o", path.join(dir, "x.png"), "--json"], env)
      expect(missingRepo.code).toBe(1)
      expect(jsonLines(missingRepo.stdout).at(-1)).toMatchObject({ type: "error", code: "HUB_REPO_NOT_FOUND" })
      expect(readdirSync(dir)).toEqual([])
      const fromHub = await pagkit(["generate", "-p", "a red circle", "-m", "pagkit/tiny-sdxl-shapes", "-n", "2", "--width", "32", "--height", "32", "-o", path.join(dir, "hub.png")], env)
      expect(fromHub.stderr).toMatch(/unet\/model\.onnx/)
      expect(fromHub.code).toBe(0)
      expect(readdirSync(dir)).toEqual(["hub.png"])
    } finally {
      await hub.close()
    }
  })

  it("reports an unknown PAG layer pattern with the valid layers, without a stack trace", async () => {
    const dir = tempDir()
    const out = path.join(dir, "x.png")
    const result = await pagkit(["generate", "--prompt", "p", "--pag-layers", "middle_block", "--steps", "1", "--out", out])
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/middle_block/)
    expect(result.stderr).toMatch(/mid_block\.attentions\.0/)
    expect(result.stderr).not.toMatch(/\n\s+at /)
    expect(existsSync(out)).toBe(false)
  })

  it("passes a --guidance chain to the worker, whose unknown-strategy error reaches the user with its code", async () => {
    const dir = tempDir()
    const file = path.join(dir, "chain.json")
    writeFileSync(file, JSON.stringify({ guidance: [{ name: "cfg", scale: 5 }, { name: "segg", scale: 3 }] }))
    const result = await pagkit(["generate", "-p", "p", "-n", "1", "--guidance", file, "-o", path.join(dir, "x.png"), "--json"])
    expect(result.code).toBe(1)
    const error = jsonLines(result.stdout).at(-1)
    expect(error).toMatchObject({ type: "error", exitCode: 1, message: expect.stringMatching(/entry 1: unknown strategy "segg".*known: cfg, pag/) })
    expect(typeof error?.["code"]).toBe("string")
    expect(readdirSync(dir)).toEqual(["chain.json"])
  })

  it("layers: lists the hookable sites and what a pattern resolves to", async () => {
    const list = await pagkit(["layers", "-q"])
    expect(list.code).toBe(0)
    expect(list.stdout.trimEnd().split("\n")).toContain("mid_block.attentions.0.transformer_blocks.0.attn1")
    const blocks = await pagkit(["layers", path.join(models, "tiny-pixart-sigma"), "--pattern", "blocks.1", "--target", "block", "--layer-matching", "strict", "--json"])
    expect(blocks.code).toBe(0)
    const events = jsonLines(blocks.stdout)
    expect(events[0]).toMatchObject({ type: "layers", target: "block", sites: expect.arrayContaining(["transformer_blocks.0"]) })
    expect(events[1]).toMatchObject({ type: "resolved", pattern: "blocks.1", layers: ["transformer_blocks.1"] })
  })

  it("compare: one labelled grid of PAG scales × seeds", async () => {
    const dir = tempDir()
    const out = path.join(dir, "grid.png")
    const result = await pagkit(["compare", "-p", "a red circle", "-n", "1", "--seeds", "0-1", "--pag-scales", "0,3", "-o", out, "--json"])
    expect(result.code).toBe(0)
    const layout = gridLayout({ rowLabels: ["pag 0", "pag 3"], columnLabels: ["seed 0", "seed 1"] }, { width: 64, height: 64 })
    const meta = await sharp(out).metadata()
    expect([meta.width, meta.height]).toEqual([layout.width, layout.height])
    expect(jsonLines(result.stdout).find((e) => e["type"] === "output")).toMatchObject({ file: out, width: layout.width, height: layout.height })
  })
})
