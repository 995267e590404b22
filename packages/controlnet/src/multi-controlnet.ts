// ControlNet residuals for one UNet call, one or several ControlNets (diffusers `MultiControlNetModel.forward`:
// residuals summed in order). Rows with identical inputs share one ControlNet row: with PAG the perturbed chunk
// has exactly the cond chunk's inputs, so running `[uncond, cond]` and reusing the cond residuals is exact (SPEC §5).
import type { SessionLike } from "@pagkit/models-core"
import { Tensor } from "@pagkit/tensor"
import { resolveControlNetSchedule, controlNetScalesAt } from "./conditioning-schedule.js"
import type { ControlNetGuidanceOptions, ControlNetSchedule } from "./conditioning-schedule.js"
import type { ControlNet } from "./controlnet-model.js"
import { ControlImageError, ControlNetOptionsError } from "./errors.js"
import { residualInputMap } from "./unet-residual-inputs.js"

/** The UNet call's per-row inputs (the same tensors the UNet gets) and the step. */
export interface ControlNetStepInput {
  /** Scaled latent model input `[R, 4, h, w]`. */
  readonly sample: Tensor<"float32">
  readonly timestep: number
  readonly encoderHiddenStates: Tensor<"float32">
  readonly textEmbeds?: Tensor<"float32"> | undefined
  readonly timeIds?: Tensor<"float32"> | undefined
  /** One prepared control image batch per ControlNet, `[N, 3, H, W]`: N = 1, the chunk size, or R. */
  readonly controlImages: readonly Tensor<"float32">[]
  /** 0-based step index and step count, for the guidance window. */
  readonly stepIndex: number
  readonly numSteps: number
  /**
   * The planned rows (a `@pagkit/guidance` `PlanRow` fits): `sample` picks the control image of the row when
   * N is the chunk size. Default: chunk-major, row r uses image `r mod N` (N = R: image r; N = 1: image 0).
   */
  readonly rows?: readonly { readonly sample?: number }[] | undefined
}

/** What one call computed, for logs and tests. */
export interface ControlNetStepStats {
  /** Rows the ControlNets actually ran on (after sharing identical rows). */
  readonly controlNetRows: number
  /** Conditioning scale of each ControlNet at this step (`scale · keep`). */
  readonly scales: readonly number[]
}

function rowsEqual(tensors: readonly (Tensor | undefined)[], a: number, b: number): boolean {
  for (const t of tensors) {
    if (t === undefined) continue
    const size = t.size / t.shape[0]!
    const data = t.data as Float32Array
    for (let i = 0; i < size; i++) if (data[a * size + i] !== data[b * size + i]) return false
  }
  return true
}

function takeRows(t: Tensor<"float32">, rows: readonly number[]): Tensor<"float32"> {
  const size = t.size / t.shape[0]!
  const out = new Float32Array(rows.length * size)
  rows.forEach((r, i) => out.set(t.data.subarray(r * size, (r + 1) * size), i * size))
  return new Tensor("float32", out, [rows.length, ...t.shape.slice(1)])
}

/**
 * One or more ControlNets bound to a UNet graph: validates that the UNet takes residuals, and turns a UNet
 * call's rows into the residual inputs it needs, named as the UNet's inputs.
 *
 * @example
 * const control = new MultiControlNet(unetSession, [controlnet], { conditioningScale: 0.5 })
 * const residuals = await control.residuals({ sample, timestep: 801, encoderHiddenStates, textEmbeds, timeIds,
 *   controlImages: [image], stepIndex: 0, numSteps: 5 })
 * await unet.denoise({ ..., extra: residuals })
 */
export class MultiControlNet {
  readonly controlnets: readonly ControlNet[]
  readonly schedule: ControlNetSchedule
  /** ControlNet output → UNet input, per ControlNet. */
  readonly #maps: readonly ReadonlyMap<string, string>[]
  /** Set by each {@link MultiControlNet.residuals} call. */
  lastStats: ControlNetStepStats | undefined

  constructor(unet: Pick<SessionLike, "inputs">, controlnets: ControlNet | readonly ControlNet[], options: ControlNetGuidanceOptions = {}) {
    this.controlnets = Array.isArray(controlnets) ? [...(controlnets as readonly ControlNet[])] : [controlnets as ControlNet]
    this.schedule = resolveControlNetSchedule(options, this.controlnets.length)
    this.#maps = this.controlnets.map((c) => residualInputMap(unet, c))
  }

  /** Residual inputs for one UNet call: `{ down_block_additional_residual_0: [R, …], …, mid_block_additional_residual }`. */
  async residuals(input: ControlNetStepInput): Promise<Record<string, Tensor<"float32">>> {
    const { controlImages } = input
    if (controlImages.length !== this.controlnets.length) {
      throw new ControlImageError(`${this.controlnets.length} ControlNet(s) need as many control images, found ${controlImages.length}.`)
    }
    const rowCount = input.sample.shape[0]!
    if (input.rows !== undefined && input.rows.length !== rowCount) {
      throw new ControlNetOptionsError(`rows lists ${input.rows.length} rows but the sample has ${rowCount}.`)
    }
    // control image index of each row, per ControlNet
    const imageIndex = controlImages.map((image, k) => {
      const n = image.shape[0]!
      return Array.from({ length: rowCount }, (_, r) => {
        const sample = input.rows?.[r]?.sample
        const index = n === rowCount ? r : n === 1 ? 0 : (sample ?? r % n)
        if (index >= n) throw new ControlImageError(`row ${r} needs control image ${index} of ControlNet ${k}, which has ${n}.`)
        return index
      })
    })
    // share rows with identical inputs
    const perRow = [input.sample, input.encoderHiddenStates, input.textEmbeds, input.timeIds]
    const unique: number[] = []
    const source = Array.from({ length: rowCount }, (_, r) => {
      const found = unique.findIndex((u) => imageIndex.every((idx) => idx[u] === idx[r]) && rowsEqual(perRow, u, r))
      if (found !== -1) return found
      unique.push(r)
      return unique.length - 1
    })
    const scales = controlNetScalesAt(this.schedule, input.stepIndex, input.numSteps)
    const summed: Record<string, Tensor<"float32">> = {}
    for (const [k, controlnet] of this.controlnets.entries()) {
      const out = await controlnet.run({
        sample: takeRows(input.sample, unique),
        timestep: input.timestep,
        encoderHiddenStates: takeRows(input.encoderHiddenStates, unique),
        textEmbeds: input.textEmbeds === undefined ? undefined : takeRows(input.textEmbeds, unique),
        timeIds: input.timeIds === undefined ? undefined : takeRows(input.timeIds, unique),
        controlImage: takeRows(controlImages[k]!, unique.map((u) => imageIndex[k]![u]!)),
        conditioningScale: scales[k]!,
      })
      for (const [output, inputName] of this.#maps[k]!) {
        const residual = takeRows(out[output]!, source) // back to the UNet's rows
        const previous = summed[inputName]
        // MultiControlNetModel: samples_prev + samples_curr, in float32
        summed[inputName] = previous === undefined ? residual : new Tensor("float32", previous.data.map((v, i) => v + residual.data[i]!), residual.shape)
      }
    }
    this.lastStats = { controlNetRows: unique.length, scales }
    return summed
  }
}
