/**
 * @pagkit/models-sdxl: Stable Diffusion XL adapter.
 * @module
 */
export { loadSdxl, sdxlUnetFromHooked } from "./load-sdxl.js"
export type { LoadSdxlOptions, UnetOverride } from "./load-sdxl.js"
export { SdxlModel } from "./sdxl-model.js"
export type { SdxlParts } from "./sdxl-model.js"
export { SdxlUnet } from "./sdxl-unet.js"
export type { SdxlDenoiseInput, SdxlDenoiseRow } from "./sdxl-unet.js"
export { encodeSdxlPrompt } from "./encode-prompt.js"
export type { EncodePromptOptions, PromptInput, SdxlPromptEmbeds, SdxlTextComponents } from "./encode-prompt.js"
export { hiddenStateCount, runTextEncoder } from "./text-encoder.js"
export type { TextEncoderOutput } from "./text-encoder.js"
export { idsToInt32 } from "./prompt-tokenizer.js"
export type { PromptTokenizer, TokenizedPrompts, TokenizerLoader } from "./prompt-tokenizer.js"
export { addTimeIds, sdxlTimeIds, timeIdsTensor } from "./time-ids.js"
export type { AddTimeIdsOptions, SizeHW, TimeIds, TimeIdsOptions } from "./time-ids.js"
export {
  expandToBatch,
  latentShape,
  prepareImageToImageLatents,
  prepareTextToImageLatents,
  scaleLatents,
} from "./prepare-latents.js"
export type {
  ImageToImageLatents,
  ImageToImageLatentsOptions,
  LatentScheduler,
  TextToImageLatentsOptions,
} from "./prepare-latents.js"
export { blendInpaintLatents, prepareInpaintLatents } from "./prepare-inpaint-latents.js"
export type { InpaintLatents, InpaintLatentsOptions } from "./prepare-inpaint-latents.js"
