import { parseArgs } from "node:util"

/** A user error on the command line: printed without a stack trace, exit code 2. */
export class CliError extends Error {
  override readonly name = "CliError"
}

/** The three commands. */
export type Command = "generate" | "img2img" | "inpaint"

/** Parsed and validated options of one command. */
export interface CliOptions {
  readonly command: Command
  readonly prompt: string
  readonly negativePrompt: string | undefined
  readonly model: string | undefined
  readonly out: string
  readonly steps: number | undefined
  readonly seed: number
  readonly width: number | undefined
  readonly height: number | undefined
  readonly guidanceScale: number | undefined
  readonly guidanceRescale: number | undefined
  readonly pagScale: number
  readonly pagAdaptiveScale: number | undefined
  /** Undefined: the model's default (`mid` for SDXL, `blocks.1` for PixArt-Sigma, as diffusers). */
  readonly pagLayers: readonly string[] | undefined
  readonly scheduler: string | undefined
  readonly numImages: number
  readonly image: string | undefined
  readonly mask: string | undefined
  readonly strength: number | undefined
  readonly quiet: boolean
  /** A guidance chain as JSON (`{"guidance":[{"name":"cfg","scale":5}, …]}`) instead of the scale flags. */
  readonly guidance: string | undefined
  /** IP-Adapter weights files (`--ip-adapter`, repeatable: several adapters at once). */
  readonly ipAdapters: readonly string[]
  /** One image prompt per adapter, or one for all (`--ip-adapter-image`, repeatable). */
  readonly ipAdapterImages: readonly string[]
  /** One scale per adapter, or one for all (`--ip-adapter-scale`, repeatable; default 1). */
  readonly ipAdapterScales: readonly number[]
  /** The image encoder folder (`--image-encoder`), required with `--ip-adapter`. */
  readonly imageEncoder: string | undefined
}

export const usage = `usage:
  pagkit generate --prompt <text> --out <file.png> [options]
  pagkit img2img  --prompt <text> --image <file> --out <file.png> [--strength 0.6] [options]
  pagkit inpaint  --prompt <text> --image <file> --mask <file> --out <file.png> [--strength 0.8] [options]

options:
  --model <dir>             diffusers ONNX folder (default: the embedded tiny-sdxl-shapes)
  --negative-prompt <text>
  --steps <n>               inference steps (default 30 on the tiny model, else 50)
  --seed <n>                torch-compatible seed (default 0)
  --width <px> --height <px>
  --guidance-scale <g>      CFG scale (default 5; inpaint 7.5); <= 1 turns CFG off
  --guidance-rescale <r>    0..1
  --pag-scale <s>           PAG scale (default 3); 0 turns PAG off
  --pag-layers <list>       comma-separated layer patterns (default: mid for SDXL, blocks.1 for PixArt-Sigma)
  --pag-adaptive-scale <a>
  --scheduler <class>       e.g. EulerDiscreteScheduler, DPMSolverMultistepScheduler
  --num-images <n>          images per prompt; with n > 1, -1, -2 … is added to the file name
  --guidance <file.json>    a guidance chain as JSON instead of the scale flags, e.g.
                            {"guidance":[{"name":"cfg","scale":5},{"name":"pag","scale":3,"layers":["mid"]}]}
  --ip-adapter <file>       IP-Adapter weights (.safetensors or PyTorch .bin; base or Plus); repeat for several
  --ip-adapter-image <img>  the image prompt; repeat for one per adapter (one image serves every adapter)
  --ip-adapter-scale <n>    IP-Adapter scale (default 1); repeat for one per adapter
  --image-encoder <dir>     the IP-Adapter's image encoder (CLIP vision ONNX folder), e.g. models/image_encoder
  --quiet                   no progress output`

function number(name: string, raw: string | undefined, check?: { min?: number; max?: number; integer?: boolean }): number | undefined {
  if (raw === undefined) return undefined
  const value = Number(raw)
  if (raw.trim() === "" || !Number.isFinite(value)) throw new CliError(`--${name} expects a number, found "${raw}".`)
  if (check?.integer === true && !Number.isInteger(value)) throw new CliError(`--${name} expects a whole number, found ${raw}.`)
  if (check?.min !== undefined && value < check.min) throw new CliError(`--${name} must be at least ${check.min}, found ${raw}.`)
  if (check?.max !== undefined && value > check.max) throw new CliError(`--${name} must be at most ${check.max}, found ${raw}.`)
  return value
}

/** Parses `argv` (without node and script) into validated options. */
export function parseCli(argv: readonly string[]): CliOptions | "help" {
  const [command, ...rest] = argv
  if (command === undefined || command === "--help" || command === "-h" || command === "help") return "help"
  if (command !== "generate" && command !== "img2img" && command !== "inpaint") {
    throw new CliError(`unknown command "${command}": expected generate, img2img or inpaint.`)
  }
  let parsed
  try {
    parsed = parseArgs({
      args: [...rest],
      options: {
        prompt: { type: "string" }, "negative-prompt": { type: "string" }, model: { type: "string" },
        out: { type: "string", short: "o" }, steps: { type: "string" }, seed: { type: "string" },
        width: { type: "string" }, height: { type: "string" }, "guidance-scale": { type: "string" },
        "guidance-rescale": { type: "string" }, "pag-scale": { type: "string" }, "pag-layers": { type: "string" },
        "pag-adaptive-scale": { type: "string" }, scheduler: { type: "string" }, "num-images": { type: "string" },
        image: { type: "string" }, mask: { type: "string" }, strength: { type: "string" },
        quiet: { type: "boolean", short: "q" }, help: { type: "boolean", short: "h" }, guidance: { type: "string" },
        "ip-adapter": { type: "string", multiple: true }, "ip-adapter-image": { type: "string", multiple: true },
        "ip-adapter-scale": { type: "string", multiple: true }, "image-encoder": { type: "string" },
      },
    })
  } catch (error) {
    throw new CliError(`${(error as Error).message}. Run "pagkit --help" for the options.`)
  }
  const v = parsed.values
  if (v.help === true) return "help"
  if (v.prompt === undefined) throw new CliError(`--prompt is required (for example --prompt "a red circle on a white background").`)
  if (v.out === undefined) throw new CliError(`--out is required: the PNG file to write (for example --out out.png).`)
  if (command !== "generate" && v.image === undefined) throw new CliError(`${command} needs --image <file>: the picture to start from.`)
  if (command === "inpaint" && v.mask === undefined) throw new CliError(`inpaint needs --mask <file>: white where to repaint.`)
  if (v.guidance !== undefined) {
    const scalar = ["guidance-scale", "guidance-rescale", "pag-scale", "pag-adaptive-scale", "pag-layers"].filter((k) => (v as Record<string, unknown>)[k] !== undefined)
    if (scalar.length > 0) throw new CliError(`--guidance holds the whole chain; drop ${scalar.map((k) => `--${k}`).join(", ")} (or put them in the file).`)
  }
  const ipAdapters = v["ip-adapter"] ?? []
  const ipAdapterImages = v["ip-adapter-image"] ?? []
  const ipAdapterScales = (v["ip-adapter-scale"] ?? []).map((raw) => number("ip-adapter-scale", raw)!)
  if (ipAdapters.length === 0) {
    const stray = ["ip-adapter-image", "ip-adapter-scale", "image-encoder"].filter((k) => (v as Record<string, unknown>)[k] !== undefined)
    if (stray.length > 0) throw new CliError(`${stray.map((k) => `--${k}`).join(", ")} need --ip-adapter <file>: the IP-Adapter weights.`)
  } else {
    if (ipAdapterImages.length === 0) throw new CliError(`--ip-adapter needs --ip-adapter-image <img>: the image prompt.`)
    if (v["image-encoder"] === undefined) throw new CliError(`--ip-adapter needs --image-encoder <dir>: the CLIP vision encoder the adapter was trained with (e.g. models/image_encoder).`)
    for (const [flag, count] of [["ip-adapter-image", ipAdapterImages.length], ["ip-adapter-scale", ipAdapterScales.length]] as const) {
      if (count > 1 && count !== ipAdapters.length) {
        throw new CliError(`--${flag} was given ${count} times for ${ipAdapters.length} --ip-adapter: give it once (for every adapter) or once per adapter.`)
      }
    }
  }
  const pagLayers = v["pag-layers"]?.split(",").map((s) => s.trim()).filter((s) => s.length > 0)
  return {
    command,
    prompt: v.prompt,
    negativePrompt: v["negative-prompt"],
    model: v.model,
    out: v.out,
    steps: number("steps", v.steps, { min: 1, max: 1000, integer: true }),
    seed: number("seed", v.seed, { min: 0, max: Number.MAX_SAFE_INTEGER, integer: true }) ?? 0,
    width: number("width", v.width, { min: 8, integer: true }),
    height: number("height", v.height, { min: 8, integer: true }),
    guidanceScale: number("guidance-scale", v["guidance-scale"], { min: 0 }),
    guidanceRescale: number("guidance-rescale", v["guidance-rescale"], { min: 0, max: 1 }),
    pagScale: number("pag-scale", v["pag-scale"], { min: 0 }) ?? 3,
    pagAdaptiveScale: number("pag-adaptive-scale", v["pag-adaptive-scale"], { min: 0 }),
    pagLayers,
    scheduler: v.scheduler,
    numImages: number("num-images", v["num-images"], { min: 1, max: 64, integer: true }) ?? 1,
    image: v.image,
    mask: v.mask,
    strength: number("strength", v.strength, { min: Number.MIN_VALUE, max: 1 }),
    quiet: v.quiet === true,
    guidance: v.guidance,
    ipAdapters,
    ipAdapterImages,
    ipAdapterScales,
    imageEncoder: v["image-encoder"],
  }
}
