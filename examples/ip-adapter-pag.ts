// The IP-Adapter example of diffusers' PAG guide ("PAG with IP-Adapter"), in pagkit: SDXL with the IP-Adapter Plus
// `.bin` checkpoint and its ViT-H image encoder, run with PAG off (pagScale 0) and on (pagScale 5). Model folders
// instead of hub ids; docs/guides/ip-adapter.md shows this same code.
//
// Run on the tiny models:  pnpm exec tsx examples/ip-adapter-pag.ts
// Run on real models:      pnpm exec tsx examples/ip-adapter-pag.ts <sdxl-onnx-dir> <image_encoder dir> <ip-adapter-plus_sdxl_vit-h.bin> <ip image> [out dir] [steps]
import path from "node:path"
import { pathToFileURL } from "node:url"
import { AutoPipelineForText2Image } from "@pagkit/pipelines"
import type { PipelineOutput } from "@pagkit/pipelines"
import { tinyModelPath, tinyOraclesDir } from "@pagkit/tiny-models"

/** Where the models and the image are, and how long to run. */
export interface IpAdapterPagExample {
  /** An SDXL ONNX export folder (diffusers' `stabilityai/stable-diffusion-xl-base-1.0`, exported). */
  readonly modelDir: string
  /** `h94/IP-Adapter` `models/image_encoder` (CLIP ViT-H with projection), exported to ONNX. */
  readonly imageEncoder: string
  /** `h94/IP-Adapter` `sdxl_models/ip-adapter-plus_sdxl_vit-h.bin`, as published. */
  readonly weights: string
  /** The image prompt (the guide's `ip_adapter_bear_1.png`). */
  readonly ipImage: string
  /** Default 25, as the guide. */
  readonly numInferenceSteps?: number
  /** Default 1024 × 1024, SDXL's size. */
  readonly height?: number
  readonly width?: number
  /** Writes `pag-off.png` and `pag-on.png` there when given. */
  readonly outDir?: string
}

/** The tiny stand-ins for the guide's models (tiny SDXL, tiny ViT image encoder, tiny Plus adapter as `.bin`). */
export function tinyExample(): IpAdapterPagExample {
  const ip = tinyModelPath("tiny-ip-adapter")
  return {
    modelDir: tinyModelPath("tiny-sdxl"),
    imageEncoder: path.join(ip, "image_encoder"),
    weights: path.join(ip, "ip-adapter-plus_tiny-sdxl.bin"),
    ipImage: path.join(tinyOraclesDir(), "images", "ip-ref-48x40.png"),
    numInferenceSteps: 3,
    height: 64,
    width: 64,
  }
}

/**
 * Runs the guide's example: returns the PAG-off and PAG-on outputs (same seed).
 *
 * @example
 * const { pagOff, pagOn } = await main(tinyExample())
 */
export async function main(example: IpAdapterPagExample): Promise<{ readonly pagOff: PipelineOutput; readonly pagOn: PipelineOutput }> {
  const { modelDir, imageEncoder, weights, ipImage } = example
  const { numInferenceSteps = 25, height = 1024, width = 1024 } = example
  // guide:start
  const pipeline = await AutoPipelineForText2Image.fromPretrained(modelDir, { enablePag: true })
  await pipeline.loadIpAdapter({ weights, imageEncoder }) // e.g. sdxl_models/ip-adapter-plus_sdxl_vit-h.bin
  pipeline.setIpAdapterScale(0.7)

  const call = {
    prompt: "a polar bear sitting in a chair drinking a milkshake",
    negativePrompt: "deformed, ugly, wrong proportion, low res, bad anatomy, worst quality, low quality",
    ipAdapterImage: ipImage,
    numInferenceSteps,
    guidanceScale: 3.0,
    height,
    width,
  }
  const pagOff = await pipeline.run({ ...call, pagScale: 0.0, seed: 0 })
  const pagOn = await pipeline.run({ ...call, pagScale: 5.0, seed: 0 })
  // guide:end
  if (example.outDir !== undefined) {
    await pagOff.save(path.join(example.outDir, "pag-off.png"))
    await pagOn.save(path.join(example.outDir, "pag-on.png"))
  }
  await Promise.all([pipeline.model.release(), ...(pipeline.ipAdapter?.adapters ?? []).map((a) => a.release())])
  return { pagOff, pagOn }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [modelDir, imageEncoder, weights, ipImage, outDir, steps] = process.argv.slice(2)
  const example =
    modelDir === undefined
      ? { ...tinyExample(), outDir: outDir ?? "out/examples/ip-adapter-pag" }
      : { modelDir, imageEncoder: imageEncoder!, weights: weights!, ipImage: ipImage!, outDir: outDir ?? "out/examples/ip-adapter-pag", ...(steps === undefined ? {} : { numInferenceSteps: Number(steps) }) }
  const started = performance.now()
  await main(example)
  console.log(`wrote ${example.outDir}/pag-off.png and pag-on.png in ${((performance.now() - started) / 1000).toFixed(1)} s`)
}
