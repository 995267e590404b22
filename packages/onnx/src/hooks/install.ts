import { HookError } from "../errors.js"
import type { LayerIndex } from "../layers/layer-index.js"
import type { ModelProto } from "../proto/types.js"
import { GraphEditor } from "./graph-editor.js"
import type { HookKind, InstalledHook } from "./hook-kind.js"

/**
 * Rewrites a decoded model once for a set of hook kinds (in place) and restores topological order.
 * Kinds must have distinct names. Returns what each kind installed, in the given order.
 *
 * @example
 * const model = decodeModel(bytes)
 * const installed = installHooks(model, buildLayerIndex(model), [identityAttention()])
 * const hookedBytes = encodeModel(model)
 */
export function installHooks(model: ModelProto, index: LayerIndex, kinds: readonly HookKind[]): InstalledHook[] {
  const names = kinds.map((k) => k.name)
  const duplicate = names.find((n, i) => names.indexOf(n) !== i)
  if (duplicate !== undefined) {
    throw new HookError(`hook kind "${duplicate}" was given twice; pass each kind once (its control input covers all its layers).`)
  }
  const editor = new GraphEditor(model)
  const installed = kinds.map((kind) => kind.install(editor, index))
  editor.sortNodes()
  return installed
}
