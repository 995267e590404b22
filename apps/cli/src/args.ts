import { parseArgs } from "node:util"
import type { ParseArgsConfig } from "node:util"
import { CliError } from "./errors.js"
import { chainFlagsGiven } from "./guidance-flags.js"
import type { GuidanceFlags, Window } from "./guidance-flags.js"
import { OPTIONS, commandHelp } from "./options.js"
import type { Command, RunCommand } from "./options.js"
import { parseSeeds } from "./seeds.js"

export { CliError } from "./errors.js"
export type { Command, RunCommand } from "./options.js"

/** Options every command has. */
export interface CommonOptions {
  readonly json: boolean
  readonly quiet: boolean
  /** `--model` as typed (resolved later by `resolveModel`); undefined: the embedded tiny model. */
  readonly model: string | undefined
  readonly unet: string | undefined
  readonly layerMatching: "diffusers" | "strict" | undefined
}

/** Parsed and validated options of `generate`, `img2img`, `inpaint` (and the base of `compare`). */
export interface CliOptions extends CommonOptions, GuidanceFlags {
  readonly command: RunCommand
  readonly prompt: string
  readonly negativePrompt: string | undefined
  readonly out: string
  readonly steps: number | undefined
  /** The seeds to run, one image (or `numImages`) each: `--seeds`, else `[--seed]`, else `[0]`. */
  readonly seeds: readonly number[]
  readonly numImages: number
  readonly width: number | undefined
  readonly height: number | undefined
  readonly scheduler: string | undefined
  /** `--execution`: how PAG's perturbed rows run. */
  readonly execution: "auto" | "split" | "full" | undefined
  readonly image: string | undefined
  readonly mask: string | undefined
  readonly strength: number | undefined
  /** A guidance chain JSON file (`--guidance`) instead of the guidance flags. */
  readonly guidance: string | undefined
  readonly plugins: string | undefined
  readonly controlnet: readonly string[]
  readonly controlImage: readonly string[]
  readonly controlnetScale: readonly number[] | undefined
  readonly ipAdapter: readonly string[]
  /** One reference image for every adapter, or one per adapter. */
  readonly ipAdapterImage: readonly string[]
  /** One scale for every adapter, or one per adapter (default 1). */
  readonly ipAdapterScale: readonly number[] | undefined
  readonly imageEncoder: string | undefined
  readonly force: boolean
  readonly quality: number | undefined
  readonly executionProviders: readonly string[] | undefined
  readonly threads: number | undefined
}

/** `compare`: a run's options plus the grid's rows. */
export interface CompareOptions extends Omit<CliOptions, "command"> {
  readonly command: "compare"
  readonly pagScales: readonly number[] | undefined
  readonly layerSets: readonly (readonly string[])[] | undefined
  readonly rowGuidance: readonly string[]
}

/** `layers`: the hookable sites of a model and what patterns resolve to. */
export interface LayersOptions extends CommonOptions {
  readonly command: "layers"
  readonly patterns: readonly string[]
  readonly target: string
}

/** What the command line asks for. */
export type ParsedCli =
  | { readonly kind: "help"; readonly text: string | undefined; readonly json: boolean }
  | { readonly kind: "version"; readonly json: boolean }
  | { readonly kind: "run"; readonly options: CliOptions }
  | { readonly kind: "compare"; readonly options: CompareOptions }
  | { readonly kind: "layers"; readonly options: LayersOptions }

const COMMANDS: readonly Command[] = ["generate", "img2img", "inpaint", "compare", "layers"]

interface NumberCheck {
  readonly min?: number
  readonly max?: number
  readonly integer?: boolean
  /** `min` itself is not allowed. */
  readonly above?: boolean
}

/** Reads a number flag, naming the flag, the value and the range in the error. */
export function numberFlag(name: string, raw: string | undefined, check: NumberCheck = {}): number | undefined {
  if (raw === undefined) return undefined
  const value = Number(raw)
  if (raw.trim() === "" || !Number.isFinite(value)) throw new CliError(`--${name} expects a number, found "${raw}".`)
  if (check.integer === true && !Number.isInteger(value)) throw new CliError(`--${name} expects a whole number, found ${raw}.`)
  if (check.min !== undefined && (check.above === true ? value <= check.min : value < check.min)) {
    throw new CliError(`--${name} must be ${check.above === true ? "greater than" : "at least"} ${check.min}, found ${raw}.`)
  }
  if (check.max !== undefined && value > check.max) throw new CliError(`--${name} must be at most ${check.max}, found ${raw}.`)
  return value
}

/** A comma-separated list of non-empty items; an empty list is an error (it would silently turn a feature off). */
export function listFlag(name: string, raw: string | undefined): string[] | undefined {
  if (raw === undefined) return undefined
  const items = raw.split(",").map((s) => s.trim()).filter((s) => s.length > 0)
  if (items.length === 0) throw new CliError(`--${name} is empty ("${raw}"); give at least one layer pattern, e.g. mid.`)
  return items
}

/** `a,b` fractions of the run. */
export function windowFlag(name: string, raw: string | undefined): Window | undefined {
  if (raw === undefined) return undefined
  const parts = raw.split(",").map((s) => s.trim())
  const values = parts.map(Number)
  if (parts.length !== 2 || parts.some((p) => p === "") || values.some((v) => !Number.isFinite(v) || v < 0 || v > 1)) {
    throw new CliError(`--${name} expects two fractions of the run "start,end" in [0, 1], e.g. 0,0.5; found "${raw}".`)
  }
  const [start, end] = values as [number, number]
  if (start >= end) throw new CliError(`--${name} ${raw} is empty: start must be below end.`)
  return [start, end]
}

function numberList(name: string, raw: string | undefined, check: NumberCheck): number[] | undefined {
  if (raw === undefined) return undefined
  const parts = raw.split(",").map((s) => s.trim())
  return parts.map((p) => numberFlag(name, p, check)!)
}

/** Where an option lives when the command lacks it, for a better message than "Unknown option". */
function unknownOption(command: Command, message: string): CliError {
  const flag = /'(-{1,2}[^']+)'/.exec(message)?.[1]
  const name = flag?.replace(/^-+/, "").split("=")[0]
  const spec = OPTIONS.find((o) => o.name === name || o.short === name)
  if (spec !== undefined) {
    return new CliError(`--${spec.name} is an option of ${spec.commands.join(", ")}, not of ${command}. Run "pagkit ${command} --help".`)
  }
  return new CliError(`${message.replace(/\.$/, "")}. Run "pagkit ${command} --help" for its options.`)
}

/** `--apg-momentum -0.5` → `--apg-momentum=-0.5` (node's parseArgs takes a leading dash for an option). */
function joinNegativeNumbers(args: readonly string[], options: NonNullable<ParseArgsConfig["options"]>): string[] {
  const out: string[] = []
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    const next = args[i + 1]
    const long = /^--([^=]+)$/.exec(arg)?.[1]
    const short = /^-([A-Za-z])$/.exec(arg)?.[1]
    const name = long ?? Object.entries(options).find(([, o]) => o.short === short && short !== undefined)?.[0]
    if (name !== undefined && options[name]?.type === "string" && next !== undefined && /^-(\d|\.\d)/.test(next)) {
      out.push(`--${name}=${next}`)
      i++
    } else out.push(arg)
  }
  return out
}

function parseCommand(command: Command, rest: readonly string[]): Record<string, string | boolean | string[] | undefined> & { positionals: string[] } {
  const options: NonNullable<ParseArgsConfig["options"]> = {}
  for (const o of OPTIONS) {
    if (!o.commands.includes(command)) continue
    options[o.name] = { type: o.type, ...(o.short === undefined ? {} : { short: o.short }), ...(o.multiple === true ? { multiple: true } : {}) }
  }
  try {
    const parsed = parseArgs({ args: joinNegativeNumbers(rest, options), options, allowPositionals: command === "layers", strict: true })
    return { ...(parsed.values as Record<string, string | boolean | string[] | undefined>), positionals: parsed.positionals }
  } catch (error) {
    const message = (error as Error).message
    if ((error as { code?: string }).code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") throw unknownOption(command, message)
    throw new CliError(`${message.replace(/\.$/, "")}. Run "pagkit ${command} --help" for its options.`)
  }
}

function string(v: Record<string, unknown>, name: string): string | undefined {
  return v[name] as string | undefined
}

function strings(v: Record<string, unknown>, name: string, comma = false): string[] {
  const values = (v[name] as string[] | undefined) ?? []
  return comma ? values.flatMap((s) => s.split(",").map((x) => x.trim()).filter((x) => x.length > 0)) : values
}

function executionMode(value: string | undefined): "auto" | "split" | "full" | undefined {
  if (value !== undefined && value !== "auto" && value !== "split" && value !== "full") {
    throw new CliError(`--execution expects full, split or auto, found "${value}".`)
  }
  return value
}

function common(v: Record<string, unknown>): CommonOptions {
  const matching = string(v, "layer-matching")
  if (matching !== undefined && matching !== "diffusers" && matching !== "strict") {
    throw new CliError(`--layer-matching expects diffusers or strict, found "${matching}".`)
  }
  return { json: v["json"] === true, quiet: v["quiet"] === true, model: string(v, "model"), unet: string(v, "unet"), layerMatching: matching }
}

function runOptions(command: RunCommand | "compare", v: Record<string, unknown>): Omit<CliOptions, "command"> {
  const prompt = string(v, "prompt")
  const out = string(v, "out")
  if (prompt === undefined) throw new CliError(`--prompt (-p) is required, e.g. -p "a red circle on a white background".`)
  if (out === undefined) throw new CliError(`--out (-o) is required: the image file to write, e.g. -o out.png (.png, .jpg, .webp).`)
  if ((command === "img2img" || command === "inpaint") && v["image"] === undefined) throw new CliError(`${command} needs --image <file>: the picture to start from.`)
  if (command === "inpaint" && v["mask"] === undefined) throw new CliError(`inpaint needs --mask <file>: white where to repaint.`)
  const seedFlag = numberFlag("seed", string(v, "seed"), { min: 0, max: Number.MAX_SAFE_INTEGER, integer: true })
  const seedsText = string(v, "seeds")
  if (seedFlag !== undefined && seedsText !== undefined) throw new CliError(`give --seed or --seeds, not both.`)
  const seeds = seedsText !== undefined ? parseSeeds(seedsText) : [seedFlag ?? 0]
  const flags: GuidanceFlags = {
    guidanceScale: numberFlag("guidance-scale", string(v, "guidance-scale"), { min: 0 }),
    guidanceRescale: numberFlag("guidance-rescale", string(v, "guidance-rescale"), { min: 0, max: 1 }),
    cfgWindow: windowFlag("cfg-window", string(v, "cfg-window")),
    pagScale: numberFlag("pag-scale", string(v, "pag-scale"), { min: 0 }),
    pagLayers: listFlag("pag-layers", string(v, "pag-layers")),
    pagAdaptiveScale: numberFlag("pag-adaptive-scale", string(v, "pag-adaptive-scale"), { min: 0 }),
    pagWindow: windowFlag("pag-window", string(v, "pag-window")),
    segScale: numberFlag("seg-scale", string(v, "seg-scale"), { min: 0 }),
    segBlurSigma: numberFlag("seg-blur-sigma", string(v, "seg-blur-sigma"), { min: 0 }),
    segLayers: listFlag("seg-layers", string(v, "seg-layers")),
    segWindow: windowFlag("seg-window", string(v, "seg-window")),
    slgScale: numberFlag("slg-scale", string(v, "slg-scale"), { min: 0 }),
    slgLayers: listFlag("slg-layers", string(v, "slg-layers")),
    slgWindow: windowFlag("slg-window", string(v, "slg-window")),
    apg: v["apg"] === true ? true : undefined,
    apgEta: numberFlag("apg-eta", string(v, "apg-eta")),
    apgNormThreshold: numberFlag("apg-norm-threshold", string(v, "apg-norm-threshold"), { min: 0 }),
    apgMomentum: numberFlag("apg-momentum", string(v, "apg-momentum")),
    cfgZeroStar: v["cfg-zero-star"] === true ? true : undefined,
    zeroInitSteps: numberFlag("zero-init-steps", string(v, "zero-init-steps"), { min: 0, integer: true }),
  }
  const guidance = string(v, "guidance")
  if (guidance !== undefined) {
    const scalar = ["guidance-scale", "guidance-rescale", "pag-scale", "pag-adaptive-scale", "pag-layers"].filter((k) => v[k] !== undefined)
    const given = [...scalar.map((k) => `--${k}`), ...chainFlagsGiven(flags)]
    if (given.length > 0) throw new CliError(`--guidance holds the whole chain; drop ${given.join(", ")} (or put them in the file).`)
  }
  const controlnet = strings(v, "controlnet")
  const controlImage = strings(v, "control-image")
  if (controlnet.length === 0 && (controlImage.length > 0 || v["controlnet-scale"] !== undefined)) {
    throw new CliError(`--control-image and --controlnet-scale need --controlnet <dir>.`)
  }
  if (controlnet.length > 0 && controlImage.length !== controlnet.length) {
    throw new CliError(`${controlnet.length} --controlnet folder(s) need as many --control-image files, in the same order; found ${controlImage.length}.`)
  }
  const controlnetScale = numberList("controlnet-scale", string(v, "controlnet-scale"), { min: 0 })
  if (controlnetScale !== undefined && controlnetScale.length !== 1 && controlnetScale.length !== controlnet.length) {
    throw new CliError(`--controlnet-scale takes one number or one per ControlNet (${controlnet.length}); found ${controlnetScale.length}.`)
  }
  const ipAdapter = strings(v, "ip-adapter")
  const ipAdapterImage = strings(v, "ip-adapter-image")
  const ipAdapterScale = strings(v, "ip-adapter-scale").map((raw) => numberFlag("ip-adapter-scale", raw, { min: 0 })!)
  for (const [flag, count] of [["ip-adapter-image", ipAdapterImage.length], ["ip-adapter-scale", ipAdapterScale.length]] as const) {
    if (count > 1 && count !== ipAdapter.length) {
      throw new CliError(`--${flag} takes one value for every adapter or one per --ip-adapter (${ipAdapter.length}); found ${count}.`)
    }
  }
  if (ipAdapter.length === 0) {
    for (const flag of ["ip-adapter-image", "ip-adapter-scale", "image-encoder"]) {
      if (v[flag] !== undefined) throw new CliError(`--${flag} needs --ip-adapter <file>.`)
    }
  } else if (v["ip-adapter-image"] === undefined) {
    throw new CliError(`--ip-adapter needs --ip-adapter-image <file>: the reference picture.`)
  }
  const numImages = numberFlag("num-images", string(v, "num-images"), { min: 1, max: 64, integer: true }) ?? 1
  const executionProviders = strings(v, "execution-provider", true)
  return {
    ...common(v),
    ...flags,
    prompt,
    negativePrompt: string(v, "negative-prompt"),
    out,
    steps: numberFlag("steps", string(v, "steps"), { min: 1, max: 1000, integer: true }),
    seeds,
    numImages,
    width: numberFlag("width", string(v, "width"), { min: 8, max: 8192, integer: true }),
    height: numberFlag("height", string(v, "height"), { min: 8, max: 8192, integer: true }),
    scheduler: string(v, "scheduler"),
    execution: executionMode(string(v, "execution")),
    image: string(v, "image"),
    mask: string(v, "mask"),
    strength: numberFlag("strength", string(v, "strength"), { min: 0, above: true, max: 1 }),
    guidance,
    plugins: string(v, "plugins"),
    controlnet,
    controlImage,
    controlnetScale,
    ipAdapter,
    ipAdapterImage,
    ipAdapterScale: ipAdapterScale.length === 0 ? undefined : ipAdapterScale,
    imageEncoder: string(v, "image-encoder"),
    force: v["force"] === true,
    quality: numberFlag("quality", string(v, "quality"), { min: 1, max: 100, integer: true }),
    executionProviders: executionProviders.length === 0 ? undefined : executionProviders,
    threads: numberFlag("threads", string(v, "threads"), { min: 1, max: 1024, integer: true }),
  }
}

/** Parses `argv` (without node and script) into what to do; throws {@link CliError} (exit 2) on a bad command line. */
export function parseCli(argv: readonly string[]): ParsedCli {
  const [command, ...rest] = argv
  const json = argv.includes("--json")
  if (command === undefined || command === "--help" || command === "-h" || command === "help") {
    const about = command === "help" ? rest[0] : undefined
    if (about !== undefined && !(COMMANDS as readonly string[]).includes(about)) throw new CliError(`unknown command "${about}": expected ${COMMANDS.join(", ")}.`)
    return { kind: "help", text: about === undefined ? undefined : commandHelp(about as Command), json }
  }
  if (command === "--version" || command === "-v" || command === "version") return { kind: "version", json }
  if (!(COMMANDS as readonly string[]).includes(command)) {
    throw new CliError(`unknown command "${command}": expected ${COMMANDS.join(", ")} (or --help, --version).`)
  }
  const cmd = command as Command
  const v = parseCommand(cmd, rest)
  if (v["help"] === true) return { kind: "help", text: commandHelp(cmd), json }
  if (cmd === "layers") {
    if (v.positionals.length > 1) throw new CliError(`layers takes one MODEL folder (or --model), found ${v.positionals.length}: ${v.positionals.join(" ")}.`)
    const positional = v.positionals[0]
    if (positional !== undefined && v["model"] !== undefined) throw new CliError(`give the model as MODEL or --model, not both.`)
    const base = common(v)
    return {
      kind: "layers",
      options: { ...base, command: "layers", model: positional ?? base.model, patterns: strings(v, "pattern", true), target: string(v, "target") ?? "self-attention" },
    }
  }
  if (cmd === "compare") {
    const base = runOptions("compare", v["seeds"] === undefined ? { ...v, seeds: "0-3" } : v)
    const layerSetsText = string(v, "layer-sets")
    const layerSets = layerSetsText?.split(";").map((set) => listFlag("layer-sets", set)!)
    const rowGuidance = strings(v, "row-guidance")
    if (base.guidance !== undefined && (rowGuidance.length > 0 || v["pag-scales"] !== undefined || layerSets !== undefined)) {
      throw new CliError(`--guidance fixes one chain for every row; vary rows with --pag-scales / --layer-sets (flags) or give each row a --row-guidance file instead.`)
    }
    return {
      kind: "compare",
      options: { ...base, command: "compare", pagScales: numberList("pag-scales", string(v, "pag-scales"), { min: 0 }), layerSets, rowGuidance },
    }
  }
  return { kind: "run", options: { ...runOptions(cmd, v), command: cmd } }
}
