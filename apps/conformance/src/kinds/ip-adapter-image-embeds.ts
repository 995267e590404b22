// `ip-adapter-image-embeds*.safetensors`: CLIP preprocessing (`pixel_values`) and the image embeddings diffusers
// prepares for CFG (`embeds.{i}` = [negative; positive] on axis 0) for an IP-Adapter image. See FIXTURES.md.
import { readFile, readdir } from "node:fs/promises"
import { existsSync } from "node:fs"
import path from "node:path"
import { ImageEncoder, clipPreprocess, loadClipImageProcessorConfig } from "@pagkit/ip-adapter"
import { SafetensorsFile, Tensor, loadImage, maxAbs, maxAbsDiff, relativeL2 } from "@pagkit/tensor"
import type { CaseFile, CaseKind, CaseResult, RunContext } from "../kind.js"
import { TOLERANCES } from "../tolerances.js"

const NAME = "ip-adapter-image-embeds"
/** pixel_values are exact in practice (uint8 / 255 normalized in float32); allow one float32 rounding. */
const TOL_PIXELS = TOLERANCES["ip-adapter-image-embeds"].pixelValuesMaxAbs
const TOL_EMBEDS = TOLERANCES["ip-adapter-image-embeds"].embedsRelL2
const DEFAULT_MODELS = { imageEncoder: "tiny-ip-adapter/image_encoder", featureExtractor: "tiny-ip-adapter/feature_extractor" }

interface Source {
  /** Image path relative to the oracle folder. */
  readonly image: string
  readonly imageEncoder: string
  readonly featureExtractor: string
  /** Where the source came from, for the report. */
  readonly from: string
}

/** The case's own header metadata (all of `__metadata__`, `meta` parsed), beyond what discovery keeps. */
function describeMeta(metadata: Readonly<Record<string, string>>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...metadata }
  try {
    if (metadata["meta"] !== undefined) Object.assign(out, JSON.parse(metadata["meta"]) as Record<string, unknown>)
  } catch {
    // not JSON: keep the string
  }
  return out
}

function modelsOf(meta: Record<string, any>): { imageEncoder: string; featureExtractor: string } {
  const models = (meta["models"] ?? {}) as Record<string, unknown>
  return {
    imageEncoder: typeof models["image_encoder"] === "string" ? models["image_encoder"] : DEFAULT_MODELS.imageEncoder,
    featureExtractor: typeof models["feature_extractor"] === "string" ? models["feature_extractor"] : DEFAULT_MODELS.featureExtractor,
  }
}

/**
 * Which image(s) the embeddings were made from: named in the case's metadata (`images.ip_adapter_image`,
 * `image`, `ip_adapter_image`); else the IP-Adapter image of the pipeline cases beside it; else every image
 * under `images/`. The best-matching candidate is reported.
 */
async function candidates(file: CaseFile, meta: Record<string, any>): Promise<Source[]> {
  const images = (meta["images"] ?? {}) as Record<string, unknown>
  const named = [images["ip_adapter_image"], meta["ip_adapter_image"], meta["image"]].find((v) => typeof v === "string") as string | undefined
  if (named !== undefined) return [{ image: named, ...modelsOf(meta), from: "case metadata" }]
  const found: Source[] = []
  for (const entry of await readdir(file.oracleDir)) {
    if (!entry.endsWith(".json")) continue
    try {
      const other = JSON.parse(await readFile(path.join(file.oracleDir, entry), "utf8")) as Record<string, any>
      const image = (other["images"] ?? {})["ip_adapter_image"]
      if (typeof image === "string" && !found.some((s) => s.image === image)) found.push({ image, ...modelsOf(other), from: entry })
    } catch {
      // not a case file
    }
  }
  if (found.length > 0) return found
  const dir = path.join(file.oracleDir, "images")
  if (!existsSync(dir)) return []
  return (await readdir(dir)).filter((f) => /\.(png|jpe?g|webp)$/i.test(f)).map((f) => ({ image: `images/${f}`, ...DEFAULT_MODELS, from: "images/ scan" }))
}

async function runCase(file: CaseFile, ctx: RunContext): Promise<CaseResult[]> {
  const base = path.basename(file.relPath)
  const handle = await SafetensorsFile.open(file.tensorsPath ?? file.path)
  const tensors = new Map<string, Tensor>()
  let meta: Record<string, unknown>
  try {
    meta = { ...describeMeta(handle.metadata), ...file.meta }
    for (const name of handle.names) tensors.set(name, await handle.read(name))
  } finally {
    await handle.close()
  }
  const expectedPixels = tensors.get("pixel_values")
  const sources = await candidates(file, meta)
  if (sources.length === 0) return [{ name: `${NAME} ${base}`, status: "fail", detail: "no IP-Adapter image named in the metadata nor found beside the case" }]

  // preprocess every candidate; keep the one closest to the oracle's pixel_values
  let best: { source: Source; pixels: Tensor<"float32">; error: number } | undefined
  for (const source of sources) {
    const config = await loadClipImageProcessorConfig(path.join(ctx.modelsDir, source.featureExtractor))
    const pixels = clipPreprocess(await loadImage(path.join(file.oracleDir, source.image)), config)
    const error = expectedPixels !== undefined && pixels.shape.join() === expectedPixels.shape.join() ? maxAbsDiff(pixels, expectedPixels) : Infinity
    if (best === undefined || error < best.error) best = { source, pixels, error }
  }
  const { source, pixels } = best!
  const results: CaseResult[] = []
  if (expectedPixels !== undefined) {
    const ok = best!.error <= TOL_PIXELS
    results.push({
      name: `${NAME} ${base} pixel_values`,
      status: ok ? "pass" : "fail",
      detail: `${source.image} (from ${source.from}) [${pixels.shape.join(", ")}]: max abs ${best!.error.toExponential(2)} (tolerance ${TOL_PIXELS})`,
    })
  }
  const encoder = await ImageEncoder.load(path.join(ctx.modelsDir, source.imageEncoder), { intraOpThreads: 2 })
  try {
    const positive = await encoder.encode(pixels) // [images, D]
    for (const [key, expected] of tensors) {
      if (!key.startsWith("embeds")) continue
      const name = `${NAME} ${base} ${key}`
      const perImage = positive.size
      if (expected.size % perImage !== 0) {
        results.push({ name, status: "fail", detail: `stored [${expected.shape.join(", ")}] does not fit image_embeds [${positive.shape.join(", ")}]` })
        continue
      }
      // [negative; positive] on axis 0 when the copies are even (CFG): negative = zeros, positive = the encoder's
      const copies = expected.size / perImage
      const cfg = copies % 2 === 0
      const negativeCopies = cfg ? copies / 2 : 0
      const data = Float32Array.from(expected.data as Float32Array)
      let negativeMax = 0
      for (let i = 0; i < negativeCopies * perImage; i++) negativeMax = Math.max(negativeMax, Math.abs(data[i]!))
      let worst = 0
      for (let c = negativeCopies; c < copies; c++) {
        const stored = new Tensor("float32", data.slice(c * perImage, (c + 1) * perImage), positive.shape)
        worst = Math.max(worst, relativeL2(positive, stored))
      }
      const ok = worst <= TOL_EMBEDS && negativeMax === 0
      results.push({
        name,
        status: ok ? "pass" : "fail",
        detail:
          `[${expected.shape.join(", ")}]${cfg ? " [negative; positive]" : ""}: rel L2 ${worst.toExponential(2)} (tolerance ${TOL_EMBEDS})` +
          (cfg ? `, negative max abs ${negativeMax} (expected zeros)` : "") +
          `, |embeds| max ${maxAbs(positive).toFixed(3)}`,
      })
    }
  } finally {
    await encoder.release()
  }
  return results
}

/** Conformance of `@pagkit/ip-adapter`'s CLIP preprocessing and image encoding against diffusers/transformers. */
export const ipAdapterImageEmbedsKind: CaseKind = {
  name: NAME,
  tolerances: `pixel_values max abs <= ${TOL_PIXELS}; image embeddings rel L2 <= ${TOL_EMBEDS}, negative half exactly zero`,
  detect: (file) => path.basename(file.relPath).startsWith(NAME) && file.tensorsPath !== undefined,
  run: async (file, ctx) => {
    try {
      return await runCase(file, ctx)
    } catch (error) {
      return [{ name: `${NAME} ${path.basename(file.relPath)}`, status: "fail", detail: `error: ${(error as Error).message}` }]
    }
  },
}
