/**
 * `@pagkit/hub`: Hugging Face model ids to local ONNX folders, in the cache shared with Python's huggingface_hub.
 * @module
 */
export { resolveModel, DEFAULT_ALLOW_PATTERNS, DEFAULT_IGNORE_PATTERNS } from "./resolve-model.js"
export type { HubProgressEvent, ResolveModelOptions } from "./resolve-model.js"
export { hubSettings } from "./settings.js"
export type { Environment, HubSettings, HubSettingsOptions } from "./settings.js"
export { assertNoSymlinkedExternalData, findSymlinkedExternalData } from "./external-data.js"
export { HubError, HubIntegrityError, SymlinkedExternalDataError } from "./errors.js"
export type { HubErrorCode } from "./errors.js"
