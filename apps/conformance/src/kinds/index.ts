import type { CaseKind } from "../kind.js"
import { autopipelineKind } from "./autopipeline.js"
import { denoiserKind } from "./denoiser.js"
import { ipAdapterImageEmbedsKind } from "./ip-adapter-image-embeds.js"
import { ipAdapterPlusProjectionKind } from "./ip-adapter-plus-projection.js"
import { layerMatchingKind } from "./layer-matching.js"
import { pendingKinds } from "./pending.js"
import { pipelinePixartKind } from "./pipeline-pixart.js"
import { pipelineSdxlKind } from "./pipeline-sdxl.js"
import { schedulerKind } from "./scheduler.js"
import { torchRandnKind } from "./torch-randn.js"

/** Every case kind the runner knows, in detection order (first match wins). */
export const caseKinds: readonly CaseKind[] = [
  torchRandnKind,
  schedulerKind,
  denoiserKind,
  layerMatchingKind,
  pipelineSdxlKind,
  pipelinePixartKind,
  autopipelineKind,
  ipAdapterImageEmbedsKind,
  ipAdapterPlusProjectionKind,
  ...pendingKinds,
]
