import { ModelConfigError } from "./errors.js"

/** The parts of a VAE's `config.json` (`AutoencoderKL`) that pipelines use. */
export interface VaeConfig {
  /** `scaling_factor` (0.13025 for SDXL). */
  readonly scalingFactor: number
  /** `shift_factor` (SD3 / Flux style VAEs); `undefined` when null. */
  readonly shiftFactor: number | undefined
  /** `latents_mean` per channel; `undefined` when null. */
  readonly latentsMean: readonly number[] | undefined
  /** `latents_std` per channel; `undefined` when null. */
  readonly latentsStd: readonly number[] | undefined
  /** `latent_channels` (4 for SDXL). */
  readonly latentChannels: number
  /** `block_out_channels`; the VAE scale factor is `2^(length − 1)`. */
  readonly blockOutChannels: readonly number[]
  /** Every key as written. */
  readonly raw: Readonly<Record<string, unknown>>
}

function numberOr(raw: Record<string, unknown>, key: string, { fallback, file }: { fallback: number; file: string }): number {
  const v = raw[key]
  if (v === undefined || v === null) return fallback
  if (typeof v !== "number" || !Number.isFinite(v)) {
    throw new ModelConfigError(`${file}: ${key} should be a number, found ${JSON.stringify(v)}.`)
  }
  return v
}

function numbersOrUndefined(raw: Record<string, unknown>, key: string, file: string): number[] | undefined {
  const v = raw[key]
  if (v === undefined || v === null) return undefined
  if (!Array.isArray(v) || v.some((x) => typeof x !== "number")) {
    throw new ModelConfigError(`${file}: ${key} should be a list of numbers or null, found ${JSON.stringify(v)}.`)
  }
  return v as number[]
}

/**
 * Reads a VAE config with diffusers' `AutoencoderKL` defaults for absent keys.
 *
 * @example
 * parseVaeConfig({ scaling_factor: 0.13025, block_out_channels: [128, 256, 512, 512] }).scalingFactor // 0.13025
 */
export function parseVaeConfig(raw: Readonly<Record<string, unknown>>, file = "vae config"): VaeConfig {
  const r = raw as Record<string, unknown>
  const shift = r["shift_factor"]
  const blockOutChannels = numbersOrUndefined(r, "block_out_channels", file) ?? [64]
  if (blockOutChannels.length === 0) throw new ModelConfigError(`${file}: block_out_channels is empty.`)
  const config: VaeConfig = {
    scalingFactor: numberOr(r, "scaling_factor", { fallback: 0.18215, file }),
    shiftFactor: shift === undefined || shift === null ? undefined : numberOr(r, "shift_factor", { fallback: 0, file }),
    latentsMean: numbersOrUndefined(r, "latents_mean", file),
    latentsStd: numbersOrUndefined(r, "latents_std", file),
    latentChannels: numberOr(r, "latent_channels", { fallback: 4, file }),
    blockOutChannels,
    raw,
  }
  const fix = "Fix the value (diffusers' SDXL VAE has scaling_factor 0.13025) or re-export the folder."
  if (!(config.scalingFactor > 0)) {
    throw new ModelConfigError(`${file}: scaling_factor must be > 0 (latents are divided by it before decoding), found ${config.scalingFactor}. ${fix}`)
  }
  if (!Number.isInteger(config.latentChannels) || config.latentChannels < 1) {
    throw new ModelConfigError(`${file}: latent_channels must be an integer ≥ 1, found ${config.latentChannels}. ${fix}`)
  }
  if (blockOutChannels.some((c) => !Number.isInteger(c) || c < 1)) {
    throw new ModelConfigError(`${file}: block_out_channels must be integers ≥ 1, found ${JSON.stringify(blockOutChannels)}. ${fix}`)
  }
  for (const key of ["latents_mean", "latents_std"] as const) {
    const values = key === "latents_mean" ? config.latentsMean : config.latentsStd
    if (values?.some((v) => !Number.isFinite(v) || (key === "latents_std" && v <= 0))) {
      throw new ModelConfigError(`${file}: ${key} must hold finite numbers${key === "latents_std" ? " > 0" : ""}, found ${JSON.stringify(values)}. ${fix}`)
    }
  }
  for (const key of ["latentsMean", "latentsStd"] as const) {
    const values = config[key]
    if (values !== undefined && values.length !== config.latentChannels) {
      throw new ModelConfigError(
        `${file}: ${key === "latentsMean" ? "latents_mean" : "latents_std"} has ${values.length} values, expected one per latent channel (${config.latentChannels}).`,
      )
    }
  }
  return Object.freeze(config)
}

/** `2^(len(block_out_channels) − 1)`: pixels per latent cell along each axis. */
export function vaeScaleFactor(config: Pick<VaeConfig, "blockOutChannels">): number {
  return 2 ** (config.blockOutChannels.length - 1)
}
