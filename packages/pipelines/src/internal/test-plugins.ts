// Plugins defined outside pagkit's catalogues, for tests: a hook kind (block output × a per-row parameter) and a
// middleware that uses it. Importable by a worker thread as a plugins module (`WorkerPipelineSpec.plugins`).
import type { BranchSpec, GuidanceCatalogue, GuidanceMiddleware, MiddlewareJSON } from "@pagkit/guidance"
import { DataType, intAttribute, intsAttribute } from "@pagkit/onnx"
import type { GraphEditor, HookKind, InstalledHook, LayerIndex, ModelProto } from "@pagkit/onnx"

export const KIND = "test-block-scale"
export const INPUT = "test_block_scale"

/** Every consumer of `tensor` (but `except`) reads `replacement` instead. */
export function rewireConsumers(model: ModelProto, tensor: string, replacement: string, except: ReadonlySet<string>): void {
  for (const node of model.graph.nodes) {
    if (except.has(node.name)) continue
    node.inputs.forEach((input, i) => {
      if (input === tensor) node.inputs[i] = replacement
    })
  }
}

/** A hook kind of the shape a plugin author writes: block output × a per-row, per-block parameter (1 = off). */
export function blockScale(): HookKind {
  return {
    name: KIND,
    version: 1,
    target: "block",
    layers: (index: LayerIndex) => index.blocks.map((b) => b.path),
    install(editor: GraphEditor, index: LayerIndex): InstalledHook {
      const blocks = index.blocks
      editor.addInput(INPUT, DataType.FLOAT, ["test_batch", blocks.length])
      blocks.forEach((block, j) => {
        const base = `/test/block_scale/${block.path.replaceAll(".", "/")}`
        const column = editor.addInt64(`${base}/j`, [j], [])
        const scale = editor.addNode("Gather", [INPUT, column], `${base}/Gather`, [intAttribute("axis", 1)]) // [batch]
        const scale3 =
          editor.opset >= 13
            ? editor.addNode("Unsqueeze", [scale, editor.addInt64(`${base}/axes`, [1, 2])], `${base}/Unsqueeze`)
            : editor.addNode("Unsqueeze", [scale], `${base}/Unsqueeze`, [intsAttribute("axes", [1, 2])])
        const scaled = editor.addNode("Mul", [block.hiddenOutput, scale3], `${base}/Mul`)
        const mine = new Set(editor.model.graph.nodes.filter((n) => n.name.startsWith(base)).map((n) => n.name))
        rewireConsumers(editor.model, block.hiddenOutput, scaled, mine)
      })
      return {
        kind: KIND,
        target: "block",
        layers: blocks.map((b) => b.path),
        inputs: [{ name: INPUT, layout: "params", offValue: 1, description: "per row and block: factor on the block's output" }],
      }
    },
  }
}

/** A middleware of the shape a plugin author writes: the guided prediction is the branch with the hook's value. */
export function scaledBlockOnly(options: { readonly block: string; readonly factor: number }): GuidanceMiddleware {
  const branch: BranchSpec = { name: "scaled", conditioning: "cond", hooks: { [KIND]: { layers: [options.block], value: options.factor } } }
  return {
    name: "scaled-block",
    hooks: [{ kind: KIND, targets: [options.block], branch: "scaled" }],
    branches: () => [branch],
    combine: (_prev, preds) => preds.get("scaled"),
    toJSON: (): MiddlewareJSON => ({ name: "scaled-block", ...options }),
  }
}


/** What a worker imports from this module. */
export const hookKinds: readonly HookKind[] = [blockScale()]
export const guidance: GuidanceCatalogue = {
  "scaled-block": (options) => scaledBlockOnly(options as unknown as { block: string; factor: number }),
}
