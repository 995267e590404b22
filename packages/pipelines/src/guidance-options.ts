import { guidance } from "@pagkit/guidance"
import { GuidanceChain, guidanceFromJSON } from "@pagkit/guidance"
import type { GuidanceCatalogue, GuidanceJSON, GuidanceMiddleware, StepContext } from "@pagkit/guidance"
import { cfg } from "@pagkit/guidance-cfg"
import { pag } from "@pagkit/guidance-pag"
import { slg } from "@pagkit/guidance-slg"
import { InvalidOptionError } from "./errors.js"

/** The guidance arguments of a diffusers call, in camelCase. */
export interface GuidanceCallOptions {
  /** CFG scale `g` (`guidance_scale`; CFG is on when g > 1); default 5 for SDXL text-to-image and image-to-image, 7.5 for inpainting, 4.5 for PixArt-Sigma. */
  readonly guidanceScale?: number | undefined
  /** guidance_rescale `r` in [0, 1] (CFG on only); default 0. */
  readonly guidanceRescale?: number | undefined
  /** PAG scale `s` (`pag_scale`; PAG pipelines only; 0 turns PAG off); default 3. */
  readonly pagScale?: number | undefined
  /** pag_adaptive_scale `a`: PAG's scale decreases by `a` per 1000 timesteps (`s_t = max(s − a(1000 − t), 0)`); default 0. */
  readonly pagAdaptiveScale?: number | undefined
  /**
   * SD3-style skip-layer guidance (diffusers' `StableDiffusion3Pipeline` `skip_guidance_layers`): block patterns or DiT
   * block indices; adds `slg()` with the SD3 window rule `start·N < i < stop·N`, on steps where CFG is on (as SD3).
   */
  readonly skipGuidanceLayers?: readonly (string | number)[] | undefined
  /** `skip_layer_guidance_scale` (default 2.8). */
  readonly skipLayerGuidanceScale?: number | undefined
  /** `skip_layer_guidance_start` (default 0.01). */
  readonly skipLayerGuidanceStart?: number | undefined
  /** `skip_layer_guidance_stop` (default 0.2). */
  readonly skipLayerGuidanceStop?: number | undefined
  /** A ready chain, or its JSON form (`chain.toJSON()`, built with the pipeline's guidance catalogue), instead of the scales above (they must then be absent). */
  readonly guidance?: GuidanceChain | GuidanceJSON | undefined
}

/** What a pipeline contributes to its guidance defaults. */
export interface GuidanceDefaults {
  readonly guidanceScale: number
  /** PAG layer patterns when the pipeline has PAG enabled; undefined for a plain pipeline. */
  readonly pagLayers: readonly string[] | undefined
}

/**
 * Builds the chain a diffusers PAG pipeline computes: `cfg(g, rescale)` then `pag(s, layers, adaptive)`,
 * i.e. `u + g(c − u) + s_t(c − p)`, rescaled against `c` when `r > 0`.
 */
export function guidanceFromOptions(options: GuidanceCallOptions, defaults: GuidanceDefaults, catalogue?: GuidanceCatalogue): GuidanceChain {
  if (options.guidance !== undefined) {
    const scalar = (
      ["guidanceScale", "guidanceRescale", "pagScale", "pagAdaptiveScale", "skipGuidanceLayers", "skipLayerGuidanceScale", "skipLayerGuidanceStart", "skipLayerGuidanceStop"] as const
    ).filter((k) => options[k] !== undefined)
    if (scalar.length > 0) {
      throw new InvalidOptionError(
        `pass either a guidance chain or ${scalar.join(", ")}, not both: the chain already holds every scale.`,
      )
    }
    if (options.guidance instanceof GuidanceChain) return options.guidance
    if (catalogue === undefined) {
      throw new InvalidOptionError("a guidance chain given as JSON needs a guidance catalogue to build it (pipelines pass theirs).")
    }
    return guidanceFromJSON(options.guidance, catalogue)
  }
  if (defaults.pagLayers === undefined && (options.pagScale ?? 0) > 0) {
    throw new InvalidOptionError(
      `pagScale ${options.pagScale} was given to a pipeline without PAG. Load it with { enablePag: true } ` +
        `(AutoPipeline…fromPretrained or fromPipe), or pass a guidance chain with pag().`,
    )
  }
  const middlewares: GuidanceMiddleware[] = [
    cfg({
      scale: options.guidanceScale ?? defaults.guidanceScale,
      ...(options.guidanceRescale === undefined ? {} : { rescale: options.guidanceRescale }),
    }),
  ]
  if (defaults.pagLayers !== undefined) {
    middlewares.push(
      pag({
        scale: options.pagScale ?? 3,
        layers: defaults.pagLayers,
        ...(options.pagAdaptiveScale === undefined ? {} : { adaptiveScale: options.pagAdaptiveScale }),
      }),
    )
  }
  const slgOptions = (["skipLayerGuidanceScale", "skipLayerGuidanceStart", "skipLayerGuidanceStop"] as const).filter((k) => options[k] !== undefined)
  if (options.skipGuidanceLayers === undefined && slgOptions.length > 0) {
    throw new InvalidOptionError(`${slgOptions.join(", ")} given without skipGuidanceLayers, so skip-layer guidance would not run. Pass skipGuidanceLayers (e.g. [7, 8, 9]).`)
  }
  if (options.skipGuidanceLayers !== undefined) {
    const cfgScale = options.guidanceScale ?? defaults.guidanceScale
    // SD3 computes the skip pass only inside `if self.do_classifier_free_guidance`: no CFG, no SLG.
    if (cfgScale > 1) {
      middlewares.push(
        slg({
          layers: options.skipGuidanceLayers,
          scale: options.skipLayerGuidanceScale ?? 2.8,
          window: [options.skipLayerGuidanceStart ?? 0.01, options.skipLayerGuidanceStop ?? 0.2],
          windowRule: "sd3",
        }),
      )
    }
  }
  return guidance(...middlewares)
}

/** Whether any step of a run uses the unconditional branch (diffusers' `do_classifier_free_guidance`). */
export function usesUncond(chain: GuidanceChain, timesteps: readonly number[]): boolean {
  const steps: StepContext[] = timesteps.map((timestep, stepIndex) => ({ stepIndex, numSteps: timesteps.length, timestep }))
  return chain.conditionings(steps).includes("uncond")
}
