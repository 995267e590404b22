// Beta schedules and cumulative alphas, computed the way diffusers does with float32 torch tensors.
// Ported from diffusers `schedulers/scheduling_ddpm.py` (`betas_for_alpha_bar`, `rescale_zero_terminal_snr`)
// and the `__init__` of the discrete schedulers.
import { InvalidSchedulerConfigError } from "../errors.js"

const f32 = Math.fround

/** The beta-related options every discrete scheduler shares. */
export interface BetaConfig {
  readonly num_train_timesteps: number
  readonly beta_start: number
  readonly beta_end: number
  readonly beta_schedule: string
  readonly trained_betas?: readonly number[] | null | undefined
}

/**
 * `torch.linspace(start, end, steps, dtype=torch.float32)` on CPU, bit for bit. aten's `linspace_kernel` computes
 * the step in float32, then `start + step·i` below the halfway index and `end - step·(steps - 1 - i)` above it; the
 * compiler contracts each into one fused multiply-add, so every value is rounded once (a separately rounded
 * product is off by one float32 step at some points, e.g. `linspace(0, 1, 10)[6]`). `step·i` is exact in double
 * and so is the sum for ends within 2^29 of each other in magnitude, so rounding the double sum once equals the FMA.
 */
export function torchLinspaceF32(start: number, end: number, steps: number): Float32Array {
  const out = new Float32Array(steps)
  if (steps === 1) {
    out[0] = start
    return out
  }
  const s = f32(start)
  const e = f32(end)
  const step = f32(f32(e - s) / (steps - 1))
  const halfway = Math.floor(steps / 2)
  for (let i = 0; i < steps; i++) {
    out[i] = i < halfway ? s + step * i : e - step * (steps - 1 - i) // rounded once, on the float32 store
  }
  return out
}

/** `betas_for_alpha_bar` (cosine / exp / laplace): computed in float64, returned as float32. */
export function betasForAlphaBar(
  numDiffusionTimesteps: number,
  maxBeta = 0.999,
  alphaTransformType: "cosine" | "exp" | "laplace" = "cosine",
): Float32Array {
  const alphaBar = (t: number): number => {
    if (alphaTransformType === "cosine") return Math.cos((((t + 0.008) / 1.008) * Math.PI) / 2) ** 2
    if (alphaTransformType === "exp") return Math.exp(t * -12.0)
    const lmb = -0.5 * Math.sign(0.5 - t || 1) * Math.log(1 - 2 * Math.abs(0.5 - t) + 1e-6)
    const snr = Math.exp(lmb)
    return Math.sqrt(snr / (1 + snr))
  }
  const betas = new Float32Array(numDiffusionTimesteps)
  for (let i = 0; i < numDiffusionTimesteps; i++) {
    const t1 = i / numDiffusionTimesteps
    const t2 = (i + 1) / numDiffusionTimesteps
    betas[i] = Math.min(1 - alphaBar(t2) / alphaBar(t1), maxBeta)
  }
  return betas
}

function outsideUnit(value: unknown): boolean {
  return typeof value !== "number" || !(value > 0 && value < 1)
}

/**
 * Rejects betas that make NaN or Infinity downstream (issue 16, item 2): `beta_start`/`beta_end` must lie in
 * (0, 1) with `beta_start < beta_end` for the linear schedules, `trained_betas` in (0, 1].
 */
function checkBetaRange(config: BetaConfig, className: string): void {
  const fix = "Fix scheduler/scheduler_config.json (SDXL uses beta_start 0.00085, beta_end 0.012, scaled_linear)."
  if (config.trained_betas != null) {
    const bad = config.trained_betas.findIndex((b) => typeof b !== "number" || !(b > 0 && b <= 1))
    if (bad >= 0) {
      throw new InvalidSchedulerConfigError(
        `${className}: trained_betas[${bad}] must be in (0, 1], found ${String(config.trained_betas[bad])}. ${fix}`,
      )
    }
    return
  }
  if (config.beta_schedule !== "linear" && config.beta_schedule !== "scaled_linear") return
  for (const key of ["beta_start", "beta_end"] as const) {
    if (outsideUnit(config[key])) {
      throw new InvalidSchedulerConfigError(`${className}: ${key} must be in (0, 1), found ${String(config[key])}. ${fix}`)
    }
  }
  if (!(config.beta_start < config.beta_end)) {
    throw new InvalidSchedulerConfigError(
      `${className}: beta_start must be below beta_end, found beta_start ${config.beta_start} and beta_end ${config.beta_end}. ${fix}`,
    )
  }
}

/**
 * The betas of a config: `trained_betas`, or `linear`, `scaled_linear`, `squaredcos_cap_v2` (cosine alpha-bar),
 * and `exp` (exp alpha-bar) where the class accepts it (only `HeunDiscreteScheduler` in diffusers: pass
 * `allowExp`). Throws {@link InvalidSchedulerConfigError} for other schedules.
 */
export function betasFor(config: BetaConfig, className = "scheduler", allowExp = false): Float32Array {
  const n = config.num_train_timesteps
  checkBetaRange(config, className)
  if (config.trained_betas != null) {
    if (config.trained_betas.length !== n) {
      // diffusers does not check this, but every table below would then be misaligned.
      throw new InvalidSchedulerConfigError(
        `${className}: trained_betas has ${config.trained_betas.length} values but num_train_timesteps is ${n}. Pass one beta per train timestep.`,
      )
    }
    return Float32Array.from(config.trained_betas)
  }
  switch (config.beta_schedule) {
    case "linear":
      return torchLinspaceF32(config.beta_start, config.beta_end, n)
    case "scaled_linear": {
      const roots = torchLinspaceF32(config.beta_start ** 0.5, config.beta_end ** 0.5, n)
      return roots.map((r) => f32(r * r))
    }
    case "squaredcos_cap_v2":
      return betasForAlphaBar(n, 0.999, "cosine")
    case "exp":
      if (allowExp) return betasForAlphaBar(n, 0.999, "exp")
      break
  }
  throw new InvalidSchedulerConfigError(
    `${className}: beta_schedule "${config.beta_schedule}" is not implemented. Use one of "linear", "scaled_linear", "squaredcos_cap_v2"${allowExp ? ', "exp"' : ""} or pass trained_betas.`,
  )
}

/** `torch.cumprod(1 - betas)` in float32 (torch accumulates in double on CPU and stores float32). */
export function alphasCumprod(betas: Float32Array): Float32Array {
  const out = new Float32Array(betas.length)
  let acc = 1
  for (let i = 0; i < betas.length; i++) {
    acc *= f32(1 - betas[i]!)
    out[i] = acc
  }
  return out
}

/** `rescale_zero_terminal_snr(betas)` (https://huggingface.co/papers/2305.08891, Algorithm 1), float32. */
export function rescaleZeroTerminalSnr(betas: Float32Array): Float32Array {
  const alphasBarSqrt = alphasCumprod(betas).map((a) => f32(Math.sqrt(a)))
  const first = alphasBarSqrt[0]!
  const last = alphasBarSqrt[alphasBarSqrt.length - 1]!
  const scale = f32(first / f32(first - last))
  const alphasBar = new Float32Array(betas.length)
  for (let i = 0; i < betas.length; i++) {
    const shifted = f32(f32(alphasBarSqrt[i]! - last) * scale)
    alphasBar[i] = f32(shifted * shifted)
  }
  const out = new Float32Array(betas.length)
  out[0] = f32(1 - alphasBar[0]!)
  for (let i = 1; i < betas.length; i++) out[i] = f32(1 - f32(alphasBar[i]! / alphasBar[i - 1]!))
  return out
}

/** `((1 - alphas_cumprod) / alphas_cumprod) ** 0.5` in float32: the Karras sigmas of the train timesteps. */
export function sigmasFromAlphasCumprod(alphasCumprodTable: Float32Array): Float32Array {
  return alphasCumprodTable.map((a) => f32(Math.sqrt(f32(f32(1 - a) / a))))
}
