// Which UNet graph inputs take ControlNet residuals (`down_block_additional_residual_*`,
// `mid_block_additional_residual`), and how a ControlNet's outputs map onto them.
import type { SessionLike } from "@pagkit/models-core"
import { UnetResidualsError } from "./errors.js"
import type { ControlNet } from "./controlnet-model.js"

const DOWN_INPUT = /^down_block_additional_residual_(\d+)$/
/** UNet input for the mid-block residual. */
export const MID_RESIDUAL_INPUT = "mid_block_additional_residual"

/** Residual inputs of a UNet graph in order (down 0…n, then mid), or `undefined` when it takes none. */
export function unetResidualInputs(unet: Pick<SessionLike, "inputs">): readonly string[] | undefined {
  const names = unet.inputs.map((i) => i.name)
  const down = names.filter((n) => DOWN_INPUT.test(n)).sort((a, b) => Number(DOWN_INPUT.exec(a)![1]) - Number(DOWN_INPUT.exec(b)![1]))
  if (down.length === 0 && !names.includes(MID_RESIDUAL_INPUT)) return undefined
  return names.includes(MID_RESIDUAL_INPUT) ? [...down, MID_RESIDUAL_INPUT] : down
}

/**
 * Maps a ControlNet's residual outputs to a UNet's residual inputs (`down_block_res_sample_i` →
 * `down_block_additional_residual_i`, `mid_block_res_sample` → `mid_block_additional_residual`). Throws
 * {@link UnetResidualsError} when the UNet takes no residuals or not the same number.
 */
export function residualInputMap(unet: Pick<SessionLike, "inputs">, controlnet: Pick<ControlNet, "residualOutputs">): ReadonlyMap<string, string> {
  const inputs = unetResidualInputs(unet)
  if (inputs === undefined) {
    throw new UnetResidualsError(
      `this UNet graph takes no ControlNet residuals (inputs: ${unet.inputs.map((i) => i.name).join(", ")}). ` +
        "A ControlNet needs a UNet exported with down_block_additional_residual_0… and mid_block_additional_residual inputs (e.g. tiny-models' variants/unet-controlnet); load that UNet instead.",
    )
  }
  const outputs = controlnet.residualOutputs
  if (inputs.length !== outputs.length || inputs[inputs.length - 1] !== MID_RESIDUAL_INPUT) {
    throw new UnetResidualsError(
      `the ControlNet produces ${outputs.length} residuals (${outputs.join(", ")}) but the UNet takes ${inputs.length} (${inputs.join(", ")}). Use a ControlNet made for this UNet.`,
    )
  }
  return new Map(outputs.map((o, i) => [o, inputs[i]!]))
}
