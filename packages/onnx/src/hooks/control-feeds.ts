import { Tensor } from "@pagkit/tensor"
import { HookError } from "../errors.js"
import type { FeedContext, HookKind, InstalledHook, RowActivation } from "./hook-kind.js"

/**
 * Default control inputs of an installed hook for a batch: every `"gates"`/`"params"` input becomes float
 * `[rows, layers]` holding each row's value (default 1) on its layers and the input's `offValue` (default 0)
 * elsewhere. `"scales"` inputs are not per row and are left to the caller, `"custom"` ones to the kind's own `feeds`.
 * Unknown layers are errors.
 *
 * @example
 * controlFeeds(hooked.hook(IDENTITY_ATTENTION), [undefined, undefined, { layers: midLayers }]) // { pag_gates: [3, 17] }
 */
export function controlFeeds(installed: InstalledHook, rows: readonly (RowActivation | undefined)[]): Record<string, Tensor> {
  const column = new Map(installed.layers.map((path, i) => [path, i]))
  const width = installed.layers.length
  const feeds: Record<string, Tensor> = {}
  for (const input of installed.inputs) {
    if (input.layout === "scales" || input.layout === "custom") continue
    const data = new Float32Array(rows.length * width).fill(input.offValue ?? 0)
    rows.forEach((row, b) => {
      for (const path of row?.layers ?? []) {
        const j = column.get(path)
        if (j === undefined) {
          throw new HookError(
            `layer "${path}" is not one of the ${width} ${installed.target ?? "self-attention"} sites of hook "${installed.kind}": ${installed.layers.join(", ")}. Resolve patterns with resolveLayers first.`,
          )
        }
        data[b * width + j] = row?.value ?? 1
      }
    })
    feeds[input.name] = new Tensor("float32", data, [rows.length, width])
  }
  return feeds
}

/** Control inputs of a hook for a batch: the kind's own `feeds` when it has one, else {@link controlFeeds}. */
export function hookFeeds(
  kind: HookKind | undefined,
  installed: InstalledHook,
  rows: readonly (RowActivation | undefined)[],
  context: FeedContext,
): Record<string, Tensor> {
  return kind?.feeds !== undefined ? kind.feeds(installed, rows, context) : controlFeeds(installed, rows)
}
