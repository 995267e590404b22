// Maps a diffusers guider (class name + the snake_case config it saves as guider_config.json) to a
// pagkit guidance chain, for a future `meta.guider` case kind. Not registered as a kind here.
import { GuidanceChain } from "@pagkit/guidance"
import type { GuidanceMiddleware, GuidanceWindow, StepContext } from "@pagkit/guidance"
import { apg } from "@pagkit/guidance-apg"
import { cfg } from "@pagkit/guidance-cfg"
import { cfgZeroStar } from "@pagkit/guidance-cfg-zero-star"
import { fdg } from "@pagkit/guidance-fdg"
import { mambo } from "@pagkit/guidance-mambo"
import { pag } from "@pagkit/guidance-pag"
import { seg } from "@pagkit/guidance-seg"
import { slg } from "@pagkit/guidance-slg"
import { tcfg } from "@pagkit/guidance-tcfg"

/** A guider's `guider_config.json`, as diffusers' `save_pretrained` writes it. */
export type GuiderConfig = Readonly<Record<string, unknown>>

/** What {@link guidanceFromGuiderConfig} returns. */
export interface GuiderMapping {
  /** The pagkit chain that computes what the guider computes. */
  readonly chain: GuidanceChain
  /** Where pagkit's reading differs from (or had to interpret) diffusers', one sentence each. */
  readonly notes: readonly string[]
}

/** Codes of {@link GuiderConfigError}. */
export type GuiderConfigErrorCode = "GUIDER_NOT_SUPPORTED" | "GUIDER_CONFIG_INVALID"

/** A guider class pagkit cannot map (yet), or a config it cannot read. */
export class GuiderConfigError extends Error {
  override readonly name = "GuiderConfigError"
  readonly code: GuiderConfigErrorCode
  constructor(code: GuiderConfigErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
  }
}

/** Guider classes with a mapping, and those pagkit knows but does not map yet. */
export const SUPPORTED_GUIDERS = [
  "ClassifierFreeGuidance",
  "AdaptiveProjectedGuidance",
  "ClassifierFreeZeroStarGuidance",
  "TangentialClassifierFreeGuidance",
  "FrequencyDecoupledGuidance",
  "MagnitudeAwareGuidance",
  "PerturbedAttentionGuidance",
  "SmoothedEnergyGuidance",
  "SkipLayerGuidance",
] as const
const NOT_YET: Readonly<Record<string, string>> = {
  AutoGuidance: "AutoGuidance needs a second, weaker model, which pagkit pipelines do not load",
  AdaptiveProjectedMixGuidance: "AdaptiveProjectedMixGuidance has no pagkit middleware yet",
}

/** diffusers' `_ALL_TRANSFORMER_BLOCK_IDENTIFIERS` (hooks/_common.py), what `fqn="auto"` searches. */
const BLOCK_STACKS = ["blocks", "transformer_blocks", "single_transformer_blocks", "layers", "visual_transformer_blocks", "temporal_transformer_blocks"]

/** Reads a config's keys with checks; every key must be read or listed as ignored. */
class ConfigReader {
  readonly #config: GuiderConfig
  readonly #className: string
  readonly #used = new Set<string>()
  constructor(className: string, config: GuiderConfig) {
    this.#className = className
    this.#config = config
  }
  #invalid(key: string, expected: string, value: unknown): never {
    throw new GuiderConfigError(
      "GUIDER_CONFIG_INVALID",
      `${this.#className} config: "${key}" should be ${expected}, found ${JSON.stringify(value)}. Check the guider_config.json.`,
    )
  }
  number(key: string, fallback: number): number {
    this.#used.add(key)
    const value = this.#config[key] ?? fallback
    if (typeof value !== "number" || !Number.isFinite(value)) this.#invalid(key, "a finite number", value)
    return value
  }
  optionalNumber(key: string): number | null {
    this.#used.add(key)
    const value = this.#config[key] ?? null
    if (value !== null && (typeof value !== "number" || !Number.isFinite(value))) this.#invalid(key, "a number or null", value)
    return value
  }
  boolean(key: string, fallback: boolean): boolean {
    this.#used.add(key)
    const value = this.#config[key] ?? fallback
    if (typeof value !== "boolean") this.#invalid(key, "true or false", value)
    return value
  }
  numbers(key: string, fallback: number | number[] | null): number | number[] | null {
    this.#used.add(key)
    const value = this.#config[key] === undefined ? fallback : this.#config[key]
    if (value === null || typeof value === "number") return value
    if (Array.isArray(value) && value.every((v) => typeof v === "number")) return value as number[]
    return this.#invalid(key, "a number, a list of numbers or null", value)
  }
  raw(key: string): unknown {
    this.#used.add(key)
    return this.#config[key]
  }
  /** Throws for any key not read (diffusers' private `_class_name`, `_diffusers_version`, … are skipped). */
  finish(): void {
    const unknown = Object.keys(this.#config).filter((k) => !k.startsWith("_") && !this.#used.has(k))
    if (unknown.length > 0) {
      throw new GuiderConfigError(
        "GUIDER_CONFIG_INVALID",
        `${this.#className} config: unknown key(s) ${unknown.map((k) => `"${k}"`).join(", ")}; expected ${[...this.#used].join(", ")}. ` +
          `A newer diffusers may have added them: map them in apps/conformance/src/kinds/guider-config.ts.`,
      )
    }
  }
}

/** diffusers' start/stop (`int(start·N) ≤ i < int(stop·N)`) as a pagkit window, or undefined when it is empty. */
function windowOf(start: number, stop: number): GuidanceWindow | undefined {
  return start < stop ? [start, stop] : undefined
}

/**
 * A middleware that is also off on step `int(start·N)`: diffusers' PAG/SLG guiders start with
 * `int(start·N) < i` where pagkit's windows use `≤` (guiders/perturbed_attention_guidance.py `_is_slg_enabled`).
 */
function exclusiveStart(middleware: GuidanceMiddleware, start: number): GuidanceMiddleware {
  const skip = (ctx: StepContext): boolean => ctx.stepIndex <= Math.trunc(start * ctx.numSteps)
  return Object.freeze({
    name: middleware.name,
    ...(middleware.hooks === undefined ? {} : { hooks: middleware.hooks }),
    branches: (ctx: StepContext) => (skip(ctx) ? [] : middleware.branches(ctx)),
    combine: (prev, preds, ctx) => (skip(ctx) ? prev : middleware.combine(prev, preds, ctx)),
    ...(middleware.finish === undefined ? {} : { finish: (guided, preds, ctx) => (skip(ctx) ? guided : middleware.finish!(guided, preds, ctx)) }),
  } satisfies GuidanceMiddleware)
}

/** Layer patterns for a `LayerSkipConfig`'s block indices: every self-attention inside blocks `fqn.i`. */
function blockPatterns(indices: unknown, fqn: unknown, className: string): string[] {
  const list = typeof indices === "number" ? [indices] : indices
  if (!Array.isArray(list) || list.length === 0 || list.some((i) => !Number.isInteger(i) || i < 0)) {
    throw new GuiderConfigError("GUIDER_CONFIG_INVALID", `${className} config: layer indices should be a non-empty list of block numbers, found ${JSON.stringify(indices)}.`)
  }
  const stack = fqn === undefined || fqn === "auto" ? `(?:${BLOCK_STACKS.join("|")})` : String(fqn).replace(/\./g, "\\.")
  return (list as number[]).map((i) => `^${stack}\\.${i}\\.`)
}

/** Block patterns (sites of target "block") for a `LayerSkipConfig`'s indices: the blocks `fqn.i` themselves. */
function blockSites(indices: unknown, fqn: unknown, className: string): string[] {
  return blockPatterns(indices, fqn, className).map((p) => `${p.slice(0, -2)}$`)
}

/** The `LayerSkipConfig`-style entries of a guider (`skip_layer_config`, `seg_guidance_config`): one dict or a list. */
function layerConfigs(value: unknown): Record<string, unknown>[] {
  if (value === undefined || value === null) return []
  return (Array.isArray(value) ? value : [value]) as Record<string, unknown>[]
}

function mapCfg(read: ConfigReader, notes: string[]): GuidanceMiddleware[] {
  const scale = read.number("guidance_scale", 7.5)
  const rescale = read.number("guidance_rescale", 0)
  const original = read.boolean("use_original_formulation", false)
  const window = windowOf(read.number("start", 0), read.number("stop", 1))
  const enabled = read.boolean("enabled", true)
  // diffusers guides unless g ≈ 1 (g ≈ 0 in the original formulation); pagkit's cfg() guides for g > 1.
  const effective = original ? scale + 1 : scale
  if (original) notes.push(`use_original_formulation: c + g(c − u) is cfg({ scale: ${effective} }) (u + (g + 1)(c − u)); equal up to float32 rounding.`)
  if (!enabled || window === undefined || Math.abs(effective - 1) <= 1e-9 * Math.max(1, Math.abs(effective))) return []
  if (effective < 1) {
    throw new GuiderConfigError(
      "GUIDER_NOT_SUPPORTED",
      `ClassifierFreeGuidance with guidance_scale ${scale} computes u + ${effective}(c − u) in diffusers; pagkit's cfg() treats a scale below 1 as off. ` +
        `Use a scale above 1, or 1 for no guidance.`,
    )
  }
  return [cfg({ scale: effective, rescale, ...(window === undefined ? {} : { window }) })]
}

/**
 * Builds the pagkit chain for a diffusers guider from its class name and `guider_config.json`
 * (snake_case keys; `_class_name`/`_diffusers_version` ignored). Unknown keys and unknown classes are
 * errors. SmoothedEnergyGuidance follows the SEG reference code where diffusers' guider is wrong (see the note it adds).
 *
 * APG is mapped with `formulation: "diffusers"` (diffusers' `u + g·update`), so a conformance case
 * compares like with like; pagkit's own default follows the APG paper (see @pagkit/guidance-apg).
 *
 * @example
 * const { chain, notes } = guidanceFromGuiderConfig("AdaptiveProjectedGuidance", JSON.parse(readFileSync("guider/guider_config.json", "utf8")))
 */
export function guidanceFromGuiderConfig(className: string, config: GuiderConfig): GuiderMapping {
  if (config === null || typeof config !== "object" || Array.isArray(config)) {
    throw new GuiderConfigError("GUIDER_CONFIG_INVALID", `${className}: expected the guider_config.json object, found ${JSON.stringify(config)}.`)
  }
  const declared = config["_class_name"]
  if (declared !== undefined && declared !== className) {
    throw new GuiderConfigError("GUIDER_CONFIG_INVALID", `guider config says _class_name "${String(declared)}" but the case names ${className}; one of them is wrong.`)
  }
  const notYet = NOT_YET[className]
  if (notYet !== undefined) throw new GuiderConfigError("GUIDER_NOT_SUPPORTED", `${className} is not supported yet: ${notYet}.`)
  const read = new ConfigReader(className, config)
  const notes: string[] = []
  const common = () => {
    const window = windowOf(read.number("start", 0), read.number("stop", 1))
    const enabled = read.boolean("enabled", true) && window !== undefined
    return { ...(window === undefined ? {} : { window }), enabled, rescale: read.number("guidance_rescale", 0), useOriginalFormulation: read.boolean("use_original_formulation", false) }
  }
  let middlewares: GuidanceMiddleware[]
  switch (className) {
    case "ClassifierFreeGuidance":
      middlewares = mapCfg(read, notes)
      break
    case "AdaptiveProjectedGuidance": {
      const normDim = read.numbers("adaptive_projected_guidance_norm_dim", null)
      middlewares = [apg({
        ...common(),
        scale: read.number("guidance_scale", 7.5),
        momentum: read.optionalNumber("adaptive_projected_guidance_momentum"),
        normThreshold: read.number("adaptive_projected_guidance_rescale", 15),
        normDim,
        eta: read.number("eta", 1),
        formulation: "diffusers",
      })]
      notes.push('APG runs with formulation "diffusers" (u + g·update) to match the guider; the APG paper computes c + (g − 1)·update.')
      break
    }
    case "ClassifierFreeZeroStarGuidance":
      middlewares = [cfgZeroStar({ ...common(), scale: read.number("guidance_scale", 7.5), zeroInitSteps: read.number("zero_init_steps", 1) })]
      break
    case "TangentialClassifierFreeGuidance":
      middlewares = [tcfg({ ...common(), scale: read.number("guidance_scale", 7.5) })]
      break
    case "MagnitudeAwareGuidance":
      middlewares = [mambo({ ...common(), scale: read.number("guidance_scale", 10), alpha: read.number("alpha", 8) })]
      break
    case "FrequencyDecoupledGuidance": {
      const scales = read.numbers("guidance_scales", [10, 5])
      const start = read.numbers("start", 0)
      const stop = read.numbers("stop", 1)
      if (!Array.isArray(scales)) throw new GuiderConfigError("GUIDER_CONFIG_INVALID", `FrequencyDecoupledGuidance config: "guidance_scales" should be a list, found ${JSON.stringify(scales)}.`)
      if (start === null || stop === null) throw new GuiderConfigError("GUIDER_CONFIG_INVALID", "FrequencyDecoupledGuidance config: start/stop cannot be null.")
      const at = (v: number | number[], level: number): number => (Array.isArray(v) ? v[level]! : v)
      const windows = scales.map((_, level) => windowOf(at(start, level), at(stop, level)))
      const rescale = read.numbers("guidance_rescale", 0)
      if (windows.some((w) => w === undefined)) {
        throw new GuiderConfigError("GUIDER_NOT_SUPPORTED", "FrequencyDecoupledGuidance config: a level with start == stop (never on) has no pagkit window; drop that level or widen it.")
      }
      middlewares = [fdg({
        scales,
        rescale: rescale ?? 0,
        parallelWeights: read.numbers("parallel_weights", null),
        useOriginalFormulation: read.boolean("use_original_formulation", false),
        window: windows.map((w) => w!),
        rescaleSpace: read.raw("guidance_rescale_space") === undefined ? "data" : (read.raw("guidance_rescale_space") as "data" | "freq"),
        upcastToDouble: read.boolean("upcast_to_double", true),
        enabled: read.boolean("enabled", true),
      })]
      break
    }
    case "PerturbedAttentionGuidance": {
      const cfgPart = mapCfg(read, notes)
      const pagScale = read.number("perturbed_guidance_scale", 2.8)
      const pagStart = read.number("perturbed_guidance_start", 0.01)
      const pagStop = read.number("perturbed_guidance_stop", 0.2)
      const indices = read.raw("perturbed_guidance_layers")
      const layerConfig = read.raw("perturbed_guidance_config")
      const configs = layerConfig === undefined || layerConfig === null ? [] : Array.isArray(layerConfig) ? layerConfig : [layerConfig]
      const layers =
        configs.length > 0
          ? configs.flatMap((c) => blockPatterns((c as { indices?: unknown }).indices, (c as { fqn?: unknown }).fqn, className))
          : blockPatterns(indices, "auto", className)
      const window = windowOf(pagStart, pagStop)
      middlewares = [...cfgPart]
      if (read.boolean("enabled", true) && window !== undefined && pagScale !== 0) {
        middlewares.push(exclusiveStart(pag({ scale: pagScale, layers, window }), pagStart))
      }
      notes.push(`perturbed_guidance_layers → patterns ${JSON.stringify(layers)} (every self-attention in those blocks, as LayerSkipConfig with skip_attention_scores).`)
      if (cfgPart.length === 0) {
        notes.push("CFG is off: pagkit runs PAG on the cond inputs with the hook on (c + s(c − p)); diffusers' guider would run an unperturbed uncond pass here (plain CFG), a known bug not copied.")
        if (read.number("guidance_rescale", 0) > 0) notes.push("guidance_rescale applies with CFG only in pagkit (as in diffusers' PAG pipelines); the guider would also rescale PAG-only steps.")
      }
      break
    }
    case "SkipLayerGuidance": {
      const cfgPart = mapCfg(read, notes)
      const scale = read.number("skip_layer_guidance_scale", 2.8)
      const start = read.number("skip_layer_guidance_start", 0.01)
      const stop = read.number("skip_layer_guidance_stop", 0.2)
      const configs = layerConfigs(read.raw("skip_layer_config"))
      for (const c of configs) {
        const modes = { skip_attention: true, skip_attention_scores: false, skip_ff: true, dropout: 1 }
        const odd = Object.entries(modes).filter(([k, v]) => c[k] !== undefined && c[k] !== v)
        if (odd.length > 0) {
          throw new GuiderConfigError("GUIDER_NOT_SUPPORTED", `SkipLayerGuidance: skip_layer_config with ${odd.map(([k]) => `${k}=${JSON.stringify(c[k])}`).join(", ")} is not mapped yet (pagkit's slg() skips whole blocks; blockSkip() has the other modes as kind options).`)
        }
      }
      const indices = read.raw("skip_layer_guidance_layers")
      const layers = configs.length > 0 ? configs.flatMap((c) => blockSites(c["indices"], c["fqn"], className)) : blockSites(indices, "auto", className)
      const useOriginalFormulation = read.boolean("use_original_formulation", false)
      middlewares = [...cfgPart]
      if (read.boolean("enabled", true) && start < stop && scale !== 0) {
        middlewares.push(slg({ scale, layers, window: [start, stop], windowRule: "guider", useOriginalFormulation }))
      }
      break
    }
    case "SmoothedEnergyGuidance": {
      const cfgPart = mapCfg(read, notes)
      const scale = read.number("seg_guidance_scale", 2.8)
      const blurSigma = read.number("seg_blur_sigma", 9999999)
      const blurThresholdInf = read.number("seg_blur_threshold_inf", 9999)
      const start = read.number("seg_guidance_start", 0)
      const stop = read.number("seg_guidance_stop", 1)
      const configs = layerConfigs(read.raw("seg_guidance_config"))
      const indices = read.raw("seg_guidance_layers")
      const layers = configs.length > 0 ? configs.flatMap((c) => blockPatterns(c["indices"], c["fqn"], className)) : blockPatterns(indices, "auto", className)
      const useOriginalFormulation = read.boolean("use_original_formulation", false)
      middlewares = [...cfgPart]
      if (read.boolean("enabled", true) && start < stop && scale !== 0) {
        middlewares.push(seg({ scale, blurSigma, blurThresholdInf, layers, window: [start, stop], windowRule: "guider", useOriginalFormulation }))
      }
      notes.push(
        "SEG follows the reference code (SusungHong/SEG-SDXL): diffusers' guider never applies its hook (prepare_models does not count passes) and swaps the blur and mean branches, so its outputs are not a reference for the perturbed row.",
      )
      break
    }
    default:
      throw new GuiderConfigError(
        "GUIDER_NOT_SUPPORTED",
        `unknown guider class "${className}"; pagkit maps ${SUPPORTED_GUIDERS.join(", ")}` +
          ` (and knows ${Object.keys(NOT_YET).join(", ")} are not supported yet).`,
      )
  }
  read.finish()
  return { chain: new GuidanceChain(middlewares), notes }
}
