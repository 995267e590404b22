import { InvalidOptionError } from "../errors.js"
import type { PixArtSigmaCallOptions } from "./pixart-options.js"

/** A diffusers call mapped to pagkit: the call options (no generator) and the seed of diffusers' CPU generator. */
export interface MappedPixArtCall {
  readonly options: PixArtSigmaCallOptions
  /** `seed` of the call (`torch.Generator("cpu").manual_seed(seed)`), when given. */
  readonly seed: number | undefined
}

type Mapper = (value: unknown, out: Record<string, unknown>) => void

const str = (v: unknown): boolean => typeof v === "string" || (Array.isArray(v) && v.every((x) => typeof x === "string"))
const num = (v: unknown): boolean => typeof v === "number"
const nums = (v: unknown): boolean => Array.isArray(v) && v.every((x) => typeof x === "number")
const bool = (v: unknown): boolean => typeof v === "boolean"

function field(key: string, camel: string, check: (v: unknown) => boolean): [string, Mapper] {
  return [
    key,
    (value, out) => {
      if (value === null) return // Python None = the default
      if (!check(value)) throw new InvalidOptionError(`diffusers argument ${key}=${JSON.stringify(value)} has an unexpected type.`)
      out[camel] = value
    },
  ]
}

/** diffusers `PixArtSigmaPAGPipeline.__call__` argument → how pagkit takes it. */
const MAPPERS: ReadonlyMap<string, Mapper> = new Map<string, Mapper>([
  field("prompt", "prompt", str),
  field("negative_prompt", "negativePrompt", str),
  field("num_inference_steps", "numInferenceSteps", num),
  field("timesteps", "timesteps", nums),
  field("sigmas", "sigmas", nums),
  field("guidance_scale", "guidanceScale", num),
  field("pag_scale", "pagScale", num),
  field("pag_adaptive_scale", "pagAdaptiveScale", num),
  field("height", "height", num),
  field("width", "width", num),
  field("num_images_per_prompt", "numImagesPerPrompt", num),
  field("use_resolution_binning", "useResolutionBinning", bool),
  field("max_sequence_length", "maxSequenceLength", num),
  [
    "clean_caption",
    (value) => {
      if (value === true) {
        throw new InvalidOptionError("clean_caption=True is not supported: pagkit encodes prompts as given (pass clean_caption=False).")
      }
    },
  ],
  [
    "output_type",
    (value) => {
      if (value !== "np" && value !== "pt" && value !== null) {
        throw new InvalidOptionError(`output_type=${JSON.stringify(value)}: pagkit returns image tensors; only "np"/"pt" cases can be compared.`)
      }
    },
  ],
  [
    "eta",
    (value) => {
      if (value !== 0 && value !== null) throw new InvalidOptionError(`eta=${String(value)} is only used by DDIM, which PixArt-Sigma's pipeline does not run here.`)
    },
  ],
])

/**
 * Maps a diffusers PixArt-Sigma call (`meta.call` of an oracle case, snake_case) to pipeline options.
 * Unknown arguments are rejected, naming them, so a case is never run with an argument silently dropped.
 *
 * @example
 * pixartCallFromDiffusers({ prompt: "a cactus", guidance_scale: 4.5, pag_scale: 3, seed: 0 })
 * // { options: { prompt: "a cactus", guidanceScale: 4.5, pagScale: 3 }, seed: 0 }
 */
export function pixartCallFromDiffusers(call: Readonly<Record<string, unknown>>): MappedPixArtCall {
  const unknown = Object.keys(call).filter((key) => key !== "seed" && !MAPPERS.has(key))
  if (unknown.length > 0) {
    throw new InvalidOptionError(
      `unsupported diffusers argument(s) ${unknown.join(", ")}; supported: seed, ${[...MAPPERS.keys()].join(", ")}.`,
    )
  }
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(call)) MAPPERS.get(key)?.(value, out)
  const seed = call["seed"]
  if (seed !== undefined && seed !== null && (typeof seed !== "number" || !Number.isInteger(seed))) {
    throw new InvalidOptionError(`seed=${JSON.stringify(seed)}: expected a whole number.`)
  }
  return { options: out as PixArtSigmaCallOptions, seed: typeof seed === "number" ? seed : undefined }
}
