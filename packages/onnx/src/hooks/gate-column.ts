// One control-input column as a per-row factor `[batch, 1, 1]`, and the batch dimension control inputs share.
import { intAttribute, intsAttribute } from "../proto/build.js"
import { tensorTypeOf } from "../proto/tensor-type.js"
import { DataType } from "../proto/types.js"
import type { DataTypeCode } from "../proto/types.js"
import type { GraphEditor } from "./graph-editor.js"

/** The symbolic batch dimension of the model's inputs (so control inputs share it), else `"batch"`. */
export function batchParam(editor: GraphEditor): string {
  for (const input of editor.model.graph.inputs) {
    const first = tensorTypeOf(input)?.dims?.[0]
    if (typeof first === "string" && first !== "") return first
  }
  return "batch"
}

/** Column `column` of a float `[batch, layers]` input as `[batch, 1, 1]` in `elemType`; returns the tensor name. */
export function gateColumn(editor: GraphEditor, options: { readonly input: string; readonly column: number; readonly base: string; readonly elemType: DataTypeCode }): string {
  const { input, column, base, elemType } = options
  const index = editor.addInt64(`${base}/gate_index`, [column], [])
  const gate = editor.addNode("Gather", [input, index], `${base}/Gather`, [intAttribute("axis", 1)])
  const gate3 =
    editor.opset >= 13
      ? editor.addNode("Unsqueeze", [gate, editor.addInt64(`${base}/axes`, [1, 2])], `${base}/Unsqueeze`)
      : editor.addNode("Unsqueeze", [gate], `${base}/Unsqueeze`, [intsAttribute("axes", [1, 2])])
  return elemType === DataType.FLOAT ? gate3 : editor.addNode("Cast", [gate3], `${base}/Cast`, [intAttribute("to", elemType)])
}

/**
 * Redirects every reader of `output` to `output + gate·(replacement − output)`: rows with gate 1 see `replacement`,
 * rows with gate 0 see `output` unchanged.
 */
export function gatedReplace(editor: GraphEditor, options: { readonly output: string; readonly replacement: string; readonly gate: string; readonly base: string }): void {
  const { output, replacement, gate, base } = options
  const mixed = editor.fresh(`${base}/gated_output`)
  editor.replaceUses(output, mixed)
  const diff = editor.addNode("Sub", [replacement, output], `${base}/Sub`)
  const scaled = editor.addNode("Mul", [gate, diff], `${base}/Mul`)
  editor.addNodeWithOutput("Add", [output, scaled], mixed, `${base}/Add`)
}
