import { Tensor, sameShape } from "@pagkit/tensor"
import { PredictionShapeError, asFloatTensor, roundingFor } from "@pagkit/guidance"
import type { FloatTensor } from "@pagkit/guidance"
import { stdPerSample } from "./internal/std-per-sample.js"

/**
 * guidance_rescale (Lin et al. 2023, §3.4), ported from diffusers
 * `pipelines/stable_diffusion/pipeline_stable_diffusion.py` `rescale_noise_cfg`:
 * `out = r · guided · (std(c) / std(guided)) + (1 − r) · guided`, std per sample over all
 * non-batch dims, unbiased. Rounds per operation in float32 as torch does.
 *
 * @example
 * const out = rescaleNoiseCfg(noisePredGuided, noisePredText, 0.7)
 */
export function rescaleNoiseCfg(guided: Tensor, noisePredText: Tensor, rescale: number): FloatTensor {
  const noiseCfg = asFloatTensor(guided, "guided prediction")
  const text = asFloatTensor(noisePredText, "conditional prediction")
  if (noiseCfg.dtype !== text.dtype || !sameShape(noiseCfg.shape, text.shape)) {
    throw new PredictionShapeError(
      `rescaleNoiseCfg: expected the guided and conditional predictions to share dtype and shape, found ${noiseCfg.describe()} and ${text.describe()}.`,
    )
  }
  const round = roundingFor(noiseCfg.dtype)
  const stdText = stdPerSample(text) // [batch]
  const stdCfg = stdPerSample(noiseCfg) // [batch]
  const r = round(rescale)
  const keep = round(1 - rescale) // python float (1 - r), then used as a float32 scalar
  const out = Tensor.zeros(noiseCfg.shape, noiseCfg.dtype) as FloatTensor
  const batch = noiseCfg.shape[0] ?? 1
  const perSample = batch === 0 ? 0 : noiseCfg.size / batch
  const input = noiseCfg.data
  const o = out.data
  for (let b = 0; b < batch; b++) {
    const ratio = round(round(stdText[b]!) / round(stdCfg[b]!))
    for (let i = b * perSample; i < (b + 1) * perSample; i++) {
      const rescaled = round(input[i]! * ratio)
      o[i] = round(r * rescaled) + round(keep * input[i]!)
    }
  }
  return out
}
