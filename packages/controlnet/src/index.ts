/**
 * @pagkit/controlnet: ControlNet adapter — control image preparation, residuals for the UNet's rows (shared
 * between identical rows, so PAG's perturbed rows reuse the cond residuals), conditioning scale and guidance
 * window, several ControlNets at once.
 * @module
 */
export { ControlImageError, ControlNetError, ControlNetModelError, ControlNetOptionsError, UnetResidualsError } from "./errors.js"
export type { ControlNetErrorCode } from "./errors.js"
export { ControlNet, loadControlNet } from "./controlnet-model.js"
export type { ControlNetRunInput, LoadControlNetOptions } from "./controlnet-model.js"
export { pilLanczosResizer, prepareControlImage } from "./control-image.js"
export type { ControlImageResizer, PrepareControlImageOptions } from "./control-image.js"
export { controlNetKeep, controlNetScalesAt, resolveControlNetSchedule } from "./conditioning-schedule.js"
export type { ControlNetGuidanceOptions, ControlNetSchedule, PerControlNet } from "./conditioning-schedule.js"
export { MID_RESIDUAL_INPUT, residualInputMap, unetResidualInputs } from "./unet-residual-inputs.js"
export { MultiControlNet } from "./multi-controlnet.js"
export type { ControlNetStepInput, ControlNetStepStats } from "./multi-controlnet.js"
