/**
 * @pagkit/guidance: the guidance middleware chain — types, the planner (branches → batched
 * denoiser passes) and the combine fold.
 * @module
 */
export { GuidanceChain, combinePredictions, guidance, runGuidedStep } from "./chain.js"
export type { RunStepOptions } from "./chain.js"
export {
  BranchConflictError,
  DuplicateMiddlewareError,
  GuidanceError,
  GuidanceOptionsError,
  MissingPredictionError,
  PredictionShapeError,
  UndeclaredHookError,
} from "./errors.js"
export type { GuidanceErrorCode } from "./errors.js"
export { addPredictions, asFloatTensor, roundingFor, scalePrediction, scaledDifference } from "./guidance-math.js"
export type { FloatTensor, GuidanceDType } from "./guidance-math.js"
export { planBranches, planStep, rowHookPatterns, splitPredictions } from "./planner.js"
export type { GuidancePlan, PlanOptions, PlanRow, PlannedBranch, PlannedPass } from "./planner.js"
export { Predictions } from "./predictions.js"
export { chainToJSON, checkOptionNames, didYouMean, guidanceFromJSON } from "./json.js"
export { checkOptionKeys, suggestOption } from "./option-keys.js"
export type { OptionNames } from "./option-keys.js"
export { checkOptionsObject, condUncond, foldGuided, isClose, isNeutralScale, validateBoolean, validateFinite } from "./strategy-helpers.js"
export type { GuidanceCatalogue, GuidanceJSON, MiddlewareFactory } from "./json.js"
export { activationLayers, activationValue } from "./internal/branch-key.js"
export type {
  BranchSpec,
  Conditioning,
  GuidanceMiddleware,
  GuidanceWindow,
  HookActivation,
  HookActivations,
  HookSpec,
  MiddlewareJSON,
  StepContext,
  ValuedActivation,
} from "./types.js"
export { MAX_GUIDANCE_SCALE, fullWindow, isInWindow, isInWindowBy, validateScale, validateWindow, validateWindowRule } from "./window.js"
export type { WindowRule } from "./window.js"
