// IP-Adapter masks in the graph (diffusers `image_processor.py` `IPAdapterMaskProcessor.downsample`, used by
// `attention_processor.py` `IPAdapterAttnProcessor2_0` with `ip_adapter_masks`): the mask, at the output image's
// size, is resized bicubically (torch `F.interpolate(mode="bicubic")`, no antialiasing) to each layer's token grid
// and multiplies that adapter's attention output.
import { DataType, HookError, intAttribute } from "@pagkit/onnx"
import type { GraphEditor } from "@pagkit/onnx"

/** An encoded string attribute (`mode` of Resize); @pagkit/onnx builds only numeric ones. */
function stringAttribute(name: string, value: string): Uint8Array {
  const enc = new TextEncoder()
  const n = enc.encode(name)
  const v = enc.encode(value)
  if (n.length > 127 || v.length > 127) throw new HookError(`attribute ${name} too long`)
  // AttributeProto: name (1, bytes), s (4, bytes), type (20, varint) = STRING (3)
  return Uint8Array.from([0x0a, n.length, ...n, 0x22, v.length, ...v, 0xa0, 0x01, 3])
}

/** Per-adapter nodes shared by every layer: `1 − mask` and the mask's aspect ratio `W / H` (float64). */
export interface MaskSource {
  readonly inverse: string
  readonly ratio: string
}

export function addMaskSource(editor: GraphEditor, k: number, input: string): MaskSource {
  const base = `/pagkit/ip_adapter/mask_${k}`
  editor.addInput(input, DataType.FLOAT, [1, 1, `ip_adapter_mask_height_${k}`, `ip_adapter_mask_width_${k}`])
  const inverse = editor.addNode("Sub", [editor.addFloat32(`${base}/one`, Float32Array.of(1), []), input], `${base}/Sub`)
  const shape = editor.addNode("Cast", [editor.addNode("Shape", [input], `${base}/Shape`)], `${base}/Cast`, [intAttribute("to", DataType.DOUBLE)])
  const dim = (i: number): string => editor.addNode("Gather", [shape, editor.addInt64(`${base}/dim_${i}`, [i], [1])], `${base}/Gather`, [intAttribute("axis", 0)])
  return { inverse, ratio: editor.addNode("Div", [dim(3), dim(2)], `${base}/ratio`) }
}

/**
 * `ip − ip · resize(1 − mask)` for a layer's attention output `ip` `[B, seq, C]`: diffusers `IPAdapterMaskProcessor.downsample`
 * (grid `h = ⌊√(seq / ratio)⌋ (+1 when h ∤ seq)`, `w = seq // h`, bicubic without antialiasing, zero-padded or cut to `seq`)
 * applied to `1 − mask`, so an all-ones mask (and the default `[1, 1, 1, 1]` ones) leaves `ip` bit for bit.
 */
export function maskedOutput(editor: GraphEditor, ip: string, mask: MaskSource, base: string, elemType: number): string {
  const i64 = (name: string, values: readonly number[]): string => editor.addInt64(`${base}/${name}`, values, [values.length])
  const seq = editor.addNode("Gather", [editor.addNode("Shape", [ip], `${base}/Shape`), i64("seq_index", [1])], `${base}/seq`, [intAttribute("axis", 0)])
  const seqD = editor.addNode("Cast", [seq], `${base}/seq_f64`, [intAttribute("to", DataType.DOUBLE)])
  const h0 = editor.addNode("Cast", [editor.addNode("Floor", [editor.addNode("Sqrt", [editor.addNode("Div", [seqD, mask.ratio], `${base}/Div`)], `${base}/Sqrt`)], `${base}/Floor`)], `${base}/h0`, [
    intAttribute("to", DataType.INT64),
  ])
  const uneven = editor.addNode("Not", [editor.addNode("Equal", [editor.addNode("Mod", [seq, h0], `${base}/Mod`), i64("zero", [0])], `${base}/Equal`)], `${base}/Not`)
  const h = editor.addNode("Add", [h0, editor.addNode("Cast", [uneven], `${base}/uneven`, [intAttribute("to", DataType.INT64)])], `${base}/h`)
  const w = editor.addNode("Div", [seq, h], `${base}/w`)
  const sizes = editor.addNode("Concat", [i64("batch_channels", [1, 1]), h, w], `${base}/sizes`, [intAttribute("axis", 0)])
  const resized = editor.addNode("Resize", [mask.inverse, "", "", sizes], `${base}/Resize`, [stringAttribute("mode", "cubic")])
  const flat = editor.addNode("Reshape", [resized, i64("flat_shape", [1, -1])], `${base}/flat`)
  const short = editor.addNode("Max", [editor.addNode("Sub", [seq, editor.addNode("Mul", [h, w], `${base}/area`)], `${base}/short`), i64("zero_pad", [0])], `${base}/pad_amount`)
  const pads = editor.addNode("Concat", [i64("pads_head", [0, 0, 0]), short], `${base}/pads`, [intAttribute("axis", 0)])
  // diffusers pads the mask with 0 (adapter off); this path carries 1 − mask, so it pads with 1
  const padded = editor.addNode("Pad", [flat, pads, editor.addFloat32(`${base}/pad_value`, Float32Array.of(1), [])], `${base}/Pad`)
  const cut = editor.addNode("Slice", [padded, i64("slice_start", [0]), seq, i64("slice_axis", [1])], `${base}/Slice`)
  let factor = editor.addNode("Reshape", [cut, i64("column_shape", [1, -1, 1])], `${base}/column`)
  if (elemType !== DataType.FLOAT) factor = editor.addNode("Cast", [factor], `${base}/Cast`, [intAttribute("to", elemType)])
  return editor.addNode("Sub", [ip, editor.addNode("Mul", [ip, factor], `${base}/Mul`)], `${base}/masked`)
}

