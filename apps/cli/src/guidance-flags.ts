// The guidance-family flags (`--seg-*`, `--slg-*`, `--apg*`, `--cfg-zero-star`, windows) as one guidance chain JSON.
import type { GuidanceJSON } from "@pagkit/guidance"
import { CliError } from "./errors.js"

/** A `[start, end]` window in fractions of the run. */
export type Window = readonly [number, number]

/** The guidance flags of a command line, parsed (undefined: not given). */
export interface GuidanceFlags {
  readonly guidanceScale?: number | undefined
  readonly guidanceRescale?: number | undefined
  readonly cfgWindow?: Window | undefined
  readonly pagScale?: number | undefined
  readonly pagLayers?: readonly string[] | undefined
  readonly pagAdaptiveScale?: number | undefined
  readonly pagWindow?: Window | undefined
  readonly segScale?: number | undefined
  readonly segBlurSigma?: number | undefined
  readonly segLayers?: readonly string[] | undefined
  readonly segWindow?: Window | undefined
  readonly slgScale?: number | undefined
  readonly slgLayers?: readonly string[] | undefined
  readonly slgWindow?: Window | undefined
  readonly apg?: boolean | undefined
  readonly apgEta?: number | undefined
  readonly apgNormThreshold?: number | undefined
  readonly apgMomentum?: number | undefined
  readonly cfgZeroStar?: boolean | undefined
  readonly zeroInitSteps?: number | undefined
}

/** What the model contributes when a flag is absent. */
export interface GuidanceFlagDefaults {
  /** The pipeline's CFG scale (SDXL 5, SDXL inpainting 7.5, PixArt-Sigma 4.5). */
  readonly guidanceScale: number
  /** The family's PAG layers (SDXL `mid`, PixArt-Sigma `blocks.1`). */
  readonly pagLayers: readonly string[]
}

/** PAG's scale when `--pag-scale` is absent (diffusers' PAG pipelines: 3). */
export const DEFAULT_PAG_SCALE = 3

/** Flags only a chain can express: with none of them, the CLI passes diffusers' scalar options instead. */
const chainOnly = [
  "cfgWindow", "pagWindow", "segScale", "segBlurSigma", "segLayers", "segWindow", "slgScale", "slgLayers", "slgWindow",
  "apg", "apgEta", "apgNormThreshold", "apgMomentum", "cfgZeroStar", "zeroInitSteps",
] as const satisfies readonly (keyof GuidanceFlags)[]

/** The command-line spelling of a flag field, for messages. */
export function flagName(field: string): string {
  return `--${field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`
}

/** The chain-only flags that were given (their `--flag` names). */
export function chainFlagsGiven(flags: GuidanceFlags): string[] {
  return chainOnly.filter((k) => flags[k] !== undefined && flags[k] !== false).map(flagName)
}

function copy(window: Window | undefined): number[] | undefined {
  return window === undefined ? undefined : [window[0], window[1]]
}

function defined<T extends object>(entry: T): T {
  return Object.fromEntries(Object.entries(entry).filter(([, v]) => v !== undefined)) as T
}

/**
 * Builds the guidance chain JSON the flags describe, or undefined when plain `--guidance-scale`/`--pag-*` flags say it
 * all (then the pipeline's scalar options reproduce diffusers exactly). Order: the CFG-type term (`cfg`, or `apg` /
 * `cfg-zero-star` in its place), then `pag` (unless its scale is 0), `seg`, `slg`. Option names are the strategies'
 * JSON names (diffusers' guider parameters in camelCase); the worker validates them against its catalogue.
 * @example
 * guidanceChainFromFlags({ segScale: 3, segBlurSigma: 10, segLayers: ["mid"] }, { guidanceScale: 5, pagLayers: ["mid"] })
 * // { guidance: [ { name: "cfg", scale: 5 }, { name: "pag", scale: 3, layers: ["mid"] },
 * //               { name: "seg", scale: 3, blurSigma: 10, layers: ["mid"] } ] }
 */
export function guidanceChainFromFlags(flags: GuidanceFlags, defaults: GuidanceFlagDefaults): GuidanceJSON | undefined {
  if (chainFlagsGiven(flags).length === 0) return undefined
  if (flags.apg === true && flags.cfgZeroStar === true) {
    throw new CliError(`--apg and --cfg-zero-star both replace CFG; pick one (or chain them in a --guidance file).`)
  }
  for (const [flag, needs] of [["apgEta", "apg"], ["apgNormThreshold", "apg"], ["apgMomentum", "apg"], ["zeroInitSteps", "cfgZeroStar"]] as const) {
    if (flags[flag] !== undefined && flags[needs] !== true) throw new CliError(`${flagName(flag)} needs ${flagName(needs)}.`)
  }
  for (const [flag, scale] of [["segBlurSigma", "segScale"], ["segLayers", "segScale"], ["segWindow", "segScale"], ["slgLayers", "slgScale"], ["slgWindow", "slgScale"]] as const) {
    if (flags[flag] !== undefined && flags[scale] === undefined) throw new CliError(`${flagName(flag)} needs ${flagName(scale)} (the strategy is off without a scale).`)
  }
  const scale = flags.guidanceScale ?? defaults.guidanceScale
  const common = { scale, rescale: flags.guidanceRescale, window: copy(flags.cfgWindow) }
  const base =
    flags.apg === true
      ? defined({ name: "apg", ...common, eta: flags.apgEta, normThreshold: flags.apgNormThreshold, momentum: flags.apgMomentum })
      : flags.cfgZeroStar === true
        ? defined({ name: "cfg-zero-star", ...common, zeroInitSteps: flags.zeroInitSteps })
        : defined({ name: "cfg", ...common })
  const entries: Record<string, unknown>[] = [base]
  const pagScale = flags.pagScale ?? DEFAULT_PAG_SCALE
  if (pagScale > 0) {
    entries.push(defined({ name: "pag", scale: pagScale, layers: flags.pagLayers ?? defaults.pagLayers, adaptiveScale: flags.pagAdaptiveScale, window: copy(flags.pagWindow) }))
  } else if (flags.pagWindow !== undefined || flags.pagAdaptiveScale !== undefined || flags.pagLayers !== undefined) {
    throw new CliError(`--pag-scale 0 turns PAG off, so --pag-layers, --pag-adaptive-scale and --pag-window would be ignored; drop them or give a scale.`)
  }
  if (flags.segScale !== undefined) {
    entries.push(defined({ name: "seg", scale: flags.segScale, blurSigma: flags.segBlurSigma, layers: flags.segLayers, window: copy(flags.segWindow) }))
  }
  if (flags.slgScale !== undefined) {
    entries.push(defined({ name: "slg", scale: flags.slgScale, layers: flags.slgLayers, window: copy(flags.slgWindow) }))
  }
  return { guidance: entries as unknown as GuidanceJSON["guidance"] }
}
