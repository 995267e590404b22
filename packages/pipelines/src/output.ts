import { mkdir, rename, writeFile, rm } from "node:fs/promises"
import path from "node:path"
import { encodePng } from "@pagkit/tensor"
import type { Tensor } from "@pagkit/tensor"
import { PipelineError } from "./errors.js"

/** What a pipeline call returns. */
export class PipelineOutput {
  /** `[N, 3, H, W]` in [0, 1]; undefined when `outputType` is `"latent"`. */
  readonly images: Tensor<"float32"> | undefined
  /** Final latents `[N, C, h, w]` (before the VAE). */
  readonly latents: Tensor<"float32">
  /** The seed the run's generator started from, when pagkit made it. */
  readonly seed: number | bigint | undefined
  /** Notes for the user: prompt truncation, layer-pattern notes. */
  readonly warnings: readonly string[]

  constructor(parts: { images: Tensor<"float32"> | undefined; latents: Tensor<"float32">; seed: number | bigint | undefined; warnings: readonly string[] }) {
    this.images = parts.images
    this.latents = parts.latents
    this.seed = parts.seed
    this.warnings = parts.warnings
  }

  /** The images as PNG files in memory. */
  async png(): Promise<Uint8Array[]> {
    if (this.images === undefined) throw new PipelineError("NO_IMAGES", `this run returned latents only (outputType "latent"); decode them first.`)
    return encodePng(this.images)
  }

  /**
   * Writes the images as PNG files: `file` for one image, `name-1.png`, `name-2.png`, … for several.
   * Each file is written to a temporary name and renamed, so a failure leaves no partial file.
   */
  async save(file: string): Promise<string[]> {
    const pngs = await this.png()
    const ext = path.extname(file) || ".png"
    const stem = file.slice(0, file.length - path.extname(file).length)
    const targets = pngs.length === 1 ? [file] : pngs.map((_, i) => `${stem}-${i + 1}${ext}`)
    await mkdir(path.dirname(path.resolve(file)), { recursive: true })
    const written: string[] = []
    try {
      for (const [i, bytes] of pngs.entries()) {
        const target = targets[i]!
        const tmp = `${target}.${process.pid}.partial`
        await writeFile(tmp, bytes)
        await rename(tmp, target)
        written.push(target)
      }
    } catch (error) {
      await Promise.all(targets.map((t) => rm(`${t}.${process.pid}.partial`, { force: true })))
      throw new PipelineError("WRITE_FAILED", `could not write ${file}: ${(error as Error).message}`, { cause: error })
    }
    return written
  }
}
