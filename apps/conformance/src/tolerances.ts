/**
 * Every numeric tolerance of the conformance runner, in one table (issue 16, item 8): the kinds read their
 * limits from here and `main` prints the table at the start of a run, so what "pass" means is visible in one place.
 */
export const TOLERANCES = {
  /** torch.randn draws: float32 and float16 bit-exact, float64 within this many ulp. */
  "torch-randn": { float64MaxUlp: 1 },
  /** Scheduler tables and steps: |actual − ref| ≤ relative · max(1, |ref|). */
  scheduler: { relative: 1e-5 },
  /** Denoiser outputs, relative L2. */
  denoiser: { pagRowsRelL2: 1e-4, plainRelL2: 1e-6, float16RelL2: 3e-3 },
  /** Whole SDXL pipelines (also ControlNet and IP-Adapter ones). */
  "pipeline-sdxl": { imageMaxAbs: 1e-3, latentsRelL2: 1e-3, noiseMaxAbs: 1e-6 },
  /** Whole PixArt-Sigma pipelines. */
  "pipeline-pixart": { imageMaxAbs: 1e-3, latentsRelL2: 1e-3, noiseRelL2: 1e-6 },
  /** IP-Adapter image preprocessing and embeddings. */
  "ip-adapter-image-embeds": { pixelValuesMaxAbs: 1e-6, embedsRelL2: 1e-4 },
} as const

/** The table as printed at the start of a run: one line per kind, `key=value` pairs. */
export function toleranceLines(): string[] {
  return Object.entries(TOLERANCES).map(
    ([kind, limits]) => `  ${kind.padEnd(24)} ${Object.entries(limits).map(([key, value]) => `${key}=${value}`).join("  ")}`,
  )
}
