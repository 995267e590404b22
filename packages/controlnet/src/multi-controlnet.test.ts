import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Tensor, concat, loadImage, maxAbs, readSafetensors, relativeL2, slice } from "@pagkit/tensor"
import type { SessionIo } from "@pagkit/models-core"
import { ControlNet, loadControlNet } from "./controlnet-model.js"
import { prepareControlImage } from "./control-image.js"
import { ControlImageError, UnetResidualsError } from "./errors.js"
import { tinyModel, tinyOracle } from "./internal/fixtures.js"
import { MultiControlNet } from "./multi-controlnet.js"
import { residualInputMap, unetResidualInputs } from "./unet-residual-inputs.js"

/** The residual inputs of tiny-models' variants/unet-controlnet, without loading it. */
const unetWithResiduals: { inputs: SessionIo[] } = {
  inputs: [
    ...["sample", "timestep", "encoder_hidden_states", "text_embeds", "time_ids"].map((name) => ({ name, dtype: "float32", shape: [] })),
    ...Array.from({ length: 9 }, (_, i) => ({ name: `down_block_additional_residual_${i}`, dtype: "float32", shape: [] })),
    { name: "mid_block_additional_residual", dtype: "float32", shape: [] },
  ],
}

describe("ControlNet residuals", () => {
  let controlnet: ControlNet
  let inputs: { sample: Tensor<"float32">; encoderHiddenStates: Tensor<"float32">; textEmbeds: Tensor<"float32">; timeIds: Tensor<"float32"> }
  let image: Tensor<"float32">

  beforeAll(async () => {
    controlnet = await loadControlNet(tinyModel("tiny-controlnet-sdxl"), { sessionOptions: { intraOpThreads: 2 } })
    // [uncond, cond, perturbed]: rows 0, 1, 1 of the denoiser oracle's inputs (the perturbed row = the cond row)
    const oracle = await readSafetensors(tinyOracle("denoiser-sdxl-unet.safetensors"))
    const get = (k: string) => {
      const t = oracle.get(`in.${k}`) as Tensor<"float32">
      return concat([slice(t, 0, 0, 1), slice(t, 0, 1, 2), slice(t, 0, 1, 2)])
    }
    inputs = { sample: get("sample"), encoderHiddenStates: get("encoder_hidden_states"), textEmbeds: get("text_embeds"), timeIds: get("time_ids") }
    image = await prepareControlImage(await loadImage(tinyOracle("images/control-edges-64.png")), { height: 64, width: 64, vaeScaleFactor: 2 })
  })
  afterAll(async () => {
    await controlnet.release()
  })

  it("maps outputs to the UNet's residual inputs and refuses UNets without them", () => {
    expect(unetResidualInputs(unetWithResiduals)).toHaveLength(10)
    expect(residualInputMap(unetWithResiduals, controlnet).get("mid_block_res_sample")).toBe("mid_block_additional_residual")
    const plainUnet = { inputs: unetWithResiduals.inputs.slice(0, 5) }
    expect(unetResidualInputs(plainUnet)).toBeUndefined()
    expect(() => new MultiControlNet(plainUnet, controlnet)).toThrow(UnetResidualsError)
    expect(() => new MultiControlNet(plainUnet, controlnet)).toThrow(/down_block_additional_residual/)
  })

  it("reusing the cond residuals for the perturbed row equals running the ControlNet on every row", async () => {
    const control = new MultiControlNet(unetWithResiduals, controlnet, { conditioningScale: 0.5 })
    const residuals = await control.residuals({ ...inputs, timestep: 801, controlImages: [image], stepIndex: 0, numSteps: 5 })
    expect(control.lastStats).toEqual({ controlNetRows: 2, scales: [0.5] })
    const direct = await controlnet.run({ ...inputs, timestep: 801, controlImage: concat([image, image, image]), conditioningScale: 0.5 })
    for (const [output, input] of residualInputMap(unetWithResiduals, controlnet)) {
      expect(residuals[input]!.shape).toEqual(direct[output]!.shape)
      expect(relativeL2(residuals[input]!, direct[output]!), input).toBeLessThan(1e-6)
      expect(maxAbs(residuals[input]!)).toBeGreaterThan(0)
    }
    // the perturbed row's residuals are the cond row's, bit for bit
    const mid = residuals["mid_block_additional_residual"]!
    expect(Array.from(slice(mid, 0, 2, 3).data)).toEqual(Array.from(slice(mid, 0, 1, 2).data))
  })

  it("feeds the conditioning scale to the graph, which multiplies the residuals as diffusers does", async () => {
    expect(controlnet.hasConditioningScaleInput).toBe(true)
    const row = { sample: slice(inputs.sample, 0, 1, 2), encoderHiddenStates: slice(inputs.encoderHiddenStates, 0, 1, 2), textEmbeds: slice(inputs.textEmbeds, 0, 1, 2), timeIds: slice(inputs.timeIds, 0, 1, 2) }
    const full = await controlnet.run({ ...row, timestep: 401, controlImage: image, conditioningScale: 1 })
    const half = await controlnet.run({ ...row, timestep: 401, controlImage: image, conditioningScale: 0.5 })
    for (const name of controlnet.residualOutputs) {
      expect(Array.from(half[name]!.data), name).toEqual(Array.from(full[name]!.data).map((v) => v * 0.5))
    }
  })

  it("sums several ControlNets and zeroes them outside the guidance window", async () => {
    const single = new MultiControlNet(unetWithResiduals, controlnet, { conditioningScale: 0.75 })
    const pair = new MultiControlNet(unetWithResiduals, [controlnet, controlnet], { conditioningScale: [0.5, 0.25], guidanceEnd: [1, 0.4] })
    const step = { ...inputs, timestep: 601, controlImages: [image, image] }
    const a = await single.residuals({ ...step, controlImages: [image], stepIndex: 1, numSteps: 5 })
    const b = await pair.residuals({ ...step, stepIndex: 1, numSteps: 5 })
    // 0.5·r + 0.25·r == 0.75·r exactly in float32 (power-of-two scales)
    for (const name of Object.keys(a)) expect(Array.from(b[name]!.data), name).toEqual(Array.from(a[name]!.data))
    // step 2 of 5 is outside the second ControlNet's window [0, 0.4]: only the first one's 0.5·r remains
    const half = await new MultiControlNet(unetWithResiduals, controlnet, { conditioningScale: 0.5 }).residuals({ ...step, controlImages: [image], stepIndex: 2, numSteps: 5 })
    const late = await pair.residuals({ ...step, stepIndex: 2, numSteps: 5 })
    expect(pair.lastStats?.scales).toEqual([0.5, 0])
    for (const name of Object.keys(half)) expect(relativeL2(late[name]!, half[name]!)).toBeLessThan(1e-6)
    const off = await new MultiControlNet(unetWithResiduals, controlnet, { guidanceStart: 0.6 }).residuals({ ...step, controlImages: [image], stepIndex: 0, numSteps: 5 })
    for (const t of Object.values(off)) expect(maxAbs(t)).toBe(0)
  })

  it("rejects control images of the wrong size or count", async () => {
    const control = new MultiControlNet(unetWithResiduals, controlnet)
    const small = Tensor.zeros([1, 3, 48, 48])
    await expect(control.residuals({ ...inputs, timestep: 1, controlImages: [small], stepIndex: 0, numSteps: 1 })).rejects.toThrow(ControlImageError)
    await expect(control.residuals({ ...inputs, timestep: 1, controlImages: [small], stepIndex: 0, numSteps: 1 })).rejects.toThrow(/expected 64×64/)
    await expect(control.residuals({ ...inputs, timestep: 1, controlImages: [], stepIndex: 0, numSteps: 1 })).rejects.toThrow(/as many control images/)
  })
})
