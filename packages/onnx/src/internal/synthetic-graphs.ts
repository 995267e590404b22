// Small runnable ONNX graphs shaped like SD3 joint-attention blocks and Flux single-stream blocks, with
// TorchScript-style node names ("/transformer_blocks.0/attn/add_k_proj/MatMul"), for this package's tests only.
import { float32Initializer, int64Initializer, intAttribute, intsAttribute, makeNode } from "../proto/build.js"
import { makeTensorValueInfo } from "../proto/tensor-type.js"
import { DataType } from "../proto/types.js"
import type { InitializerProto, ModelProto, NodeProto } from "../proto/types.js"

/** Builds a graph node by node; weights are deterministic pseudo-random numbers. */
class GraphBuilder {
  readonly nodes: NodeProto[] = []
  readonly initializers: InitializerProto[] = []
  #seed = 12345

  #random(): number {
    this.#seed = (this.#seed * 1103515245 + 12345) % 2147483648
    return this.#seed / 2147483648 - 0.5
  }

  weight(name: string, dims: readonly number[], scale = 0.6): string {
    const size = dims.reduce((a, b) => a * b, 1)
    this.initializers.push(float32Initializer(name, Float32Array.from({ length: size }, () => this.#random() * scale), dims))
    return name
  }

  ints(name: string, values: readonly number[]): string {
    this.initializers.push(int64Initializer(name, values, [values.length]))
    return name
  }

  /** Adds a node named `/scope/Op` (or `/scope/Op_k`); returns its output. */
  op(scope: string, opType: string, inputs: readonly string[], attributes: readonly Uint8Array[] = []): string {
    let name = `${scope}/${opType}`
    for (let k = 1; this.nodes.some((n) => n.name === name); k++) name = `${scope}/${opType}_${k}`
    const output = `${name}_output_0`
    this.nodes.push(makeNode({ opType, name, inputs, outputs: [output], attributes }))
    return output
  }

  /** `x·W + b` under `/scope/MatMul`, `/scope/Add` (a diffusers Linear). */
  linear(scope: string, x: string, inFeatures: number, outFeatures: number): string {
    const path = scope.slice(1).replaceAll("/", ".")
    const y = this.op(scope, "MatMul", [x, this.weight(`${path}.weight`, [inFeatures, outFeatures])])
    return this.op(scope, "Add", [this.weight(`${path}.bias`, [outFeatures], 0.1), y])
  }

  layerNorm(scope: string, x: string, channels: number): string {
    const path = scope.slice(1).replaceAll("/", ".")
    const ones = `${path}.ones`
    this.initializers.push(float32Initializer(ones, new Float32Array(channels).fill(1), [channels]))
    return this.op(scope, "LayerNormalization", [x, ones], [intAttribute("axis", -1)])
  }

  /** Single-head scaled dot-product attention over `[batch, tokens, channels]`. */
  attention(scope: string, q: string, k: string, v: string, channels: number): string {
    const kt = this.op(scope, "Transpose", [k], [intsAttribute("perm", [0, 2, 1])])
    const scores = this.op(scope, "MatMul", [q, kt])
    const scale = `${scope.slice(1).replaceAll("/", ".")}.scale`
    this.initializers.push(float32Initializer(scale, Float32Array.of(1 / Math.sqrt(channels)), []))
    const probs = this.op(scope, "Softmax", [this.op(scope, "Mul", [scores, scale])], [intAttribute("axis", -1)])
    return this.op(scope, "MatMul", [probs, v])
  }

  feedForward(scope: string, x: string, channels: number): string {
    const hidden = this.linear(`${scope}/net.0/proj`, x, channels, 2 * channels)
    return this.linear(`${scope}/net.2`, this.op(`${scope}/net.0`, "Tanh", [hidden]), 2 * channels, channels)
  }
}

/** Sizes of {@link jointAndSingleBlockModel}. */
export const SYNTHETIC = { channels: 8, imageTokens: 4, textTokens: 3 } as const

/**
 * A model with one SD3-style dual-stream block (`transformer_blocks.0`: joint attention with `add_*_proj` and
 * `to_add_out`, `ff` and `ff_context`; the text stream is processed after the image stream, as diffusers does) and
 * one Flux-style single-stream block (`single_transformer_blocks.0`: attention without `to_out`, `proj_mlp`,
 * `proj_out` over both, gated by `norm.linear(silu(temb))`).
 * Inputs: `hidden_states [b, 4, 8]`, `encoder_hidden_states [b, 3, 8]`, `temb [b, 1, 8]`; output `out [b, 7, 8]`.
 */
export function jointAndSingleBlockModel(): ModelProto {
  const { channels: c, imageTokens: n, textTokens: m } = SYNTHETIC
  const g = new GraphBuilder()
  // dual-stream block
  const b = "/transformer_blocks.0"
  const nx = g.layerNorm(`${b}/norm1/norm`, "hidden_states", c)
  const ne = g.layerNorm(`${b}/norm1_context/norm`, "encoder_hidden_states", c)
  const q = g.op(`${b}/attn`, "Concat", [g.linear(`${b}/attn/to_q`, nx, c, c), g.linear(`${b}/attn/add_q_proj`, ne, c, c)], [intAttribute("axis", 1)])
  const k = g.op(`${b}/attn`, "Concat", [g.linear(`${b}/attn/to_k`, nx, c, c), g.linear(`${b}/attn/add_k_proj`, ne, c, c)], [intAttribute("axis", 1)])
  const v = g.op(`${b}/attn`, "Concat", [g.linear(`${b}/attn/to_v`, nx, c, c), g.linear(`${b}/attn/add_v_proj`, ne, c, c)], [intAttribute("axis", 1)])
  const joint = g.attention(`${b}/attn`, q, k, v, c)
  const axis1 = g.ints(`${b}.attn.axis1`, [1])
  const imagePart = g.op(`${b}/attn`, "Slice", [joint, g.ints(`${b}.attn.s0`, [0]), g.ints(`${b}.attn.e0`, [n]), axis1])
  const textPart = g.op(`${b}/attn`, "Slice", [joint, g.ints(`${b}.attn.s1`, [n]), g.ints(`${b}.attn.e1`, [n + m]), axis1])
  const attnOut = g.linear(`${b}/attn/to_out.0`, imagePart, c, c)
  const contextAttnOut = g.linear(`${b}/attn/to_add_out`, textPart, c, c)
  const x1 = g.op(b, "Add", ["hidden_states", attnOut])
  const x2 = g.op(b, "Add", [x1, g.feedForward(`${b}/ff`, g.layerNorm(`${b}/norm2`, x1, c), c)])
  const e1 = g.op(b, "Add", ["encoder_hidden_states", contextAttnOut])
  const e2 = g.op(b, "Add", [e1, g.feedForward(`${b}/ff_context`, g.layerNorm(`${b}/norm2_context`, e1, c), c)])
  // between the stages: text first, as Flux concatenates
  const h = g.op("", "Concat", [e2, x2], [intAttribute("axis", 1)])
  // single-stream block
  const s = "/single_transformer_blocks.0"
  const gate = g.linear(`${s}/norm/linear`, g.op(`${s}/norm/silu`, "Mul", ["temb", g.op(`${s}/norm/silu`, "Sigmoid", ["temb"])]), c, c)
  const nh = g.layerNorm(`${s}/norm/norm`, h, c)
  const mlp = g.op(`${s}/act_mlp`, "Tanh", [g.linear(`${s}/proj_mlp`, nh, c, c)])
  const attn = g.attention(`${s}/attn`, g.linear(`${s}/attn/to_q`, nh, c, c), g.linear(`${s}/attn/to_k`, nh, c, c), g.linear(`${s}/attn/to_v`, nh, c, c), c)
  const projected = g.linear(`${s}/proj_out`, g.op(s, "Concat", [attn, mlp], [intAttribute("axis", 2)]), 2 * c, c)
  const y = g.op(s, "Add", [h, g.op(s, "Mul", [gate, projected])])
  const out = g.linear("/proj_out", y, c, c)
  g.nodes.push(makeNode({ opType: "Identity", name: "/Identity", inputs: [out], outputs: ["out"] }))
  return {
    irVersion: 8,
    opsetImports: [{ domain: "", version: 17 }],
    rest: [],
    graph: {
      name: "joint-and-single",
      nodes: g.nodes,
      inputs: [
        makeTensorValueInfo("hidden_states", DataType.FLOAT, ["batch", n, c]),
        makeTensorValueInfo("encoder_hidden_states", DataType.FLOAT, ["batch", m, c]),
        makeTensorValueInfo("temb", DataType.FLOAT, ["batch", 1, c]),
      ],
      outputs: [makeTensorValueInfo("out", DataType.FLOAT, ["batch", n + m, c])],
      valueInfo: [],
      initializers: g.initializers,
      rest: [],
    },
  }
}
