// Where a gated hook's perturbation enters the graph, and how a gate that is 0 in every row is removed.
// A "gates" control input (`pag_gates`, float[batch, layers]) is read per layer by Gather(gates, column, axis=1);
// that Gather is the layer's *site*: everything downstream of it may differ between a perturbed and a plain row.
import { HookError } from "../errors.js"
import type { InstalledHook } from "../hooks/hook-kind.js"
import { F } from "../proto/types.js"
import type { InitializerProto, NodeProto } from "../proto/types.js"
import { WIRE_LEN, WIRE_VARINT, readFields, stringValue, varintValue } from "../proto/wire.js"
import { readPackedVarints } from "../proto/decode.js"

/** One consumer of a gate input: the node, the gate input and the column it reads (`undefined`: unknown). */
export interface GateRead {
  readonly node: NodeProto
  readonly input: string
  readonly kind: string
  /** Module path of the column read, or `undefined` when the node reads the gates some other way. */
  readonly layer: string | undefined
}

/** Integer attribute `name` of a node, or `undefined`. */
export function intAttributeOf(node: NodeProto, name: string): number | undefined {
  for (const attribute of node.attributes) {
    let found = false
    let value: number | undefined
    for (const f of readFields(attribute, "AttributeProto")) {
      if (f.no === F.attribute.name && f.wireType === WIRE_LEN) found = stringValue(f.payload) === name
      else if (f.no === F.attribute.i && f.wireType === WIRE_VARINT) value = varintValue(f.payload)
    }
    if (found) return value
  }
  return undefined
}

/** The single int64 value of a scalar or one-element int64 initializer, or `undefined`. */
export function int64ScalarOf(init: InitializerProto | undefined): number | undefined {
  if (init === undefined || init.external || init.dataType !== 7 || init.dims.reduce((a, b) => a * b, 1) !== 1) return undefined
  for (const f of readFields(init.bytes, "TensorProto")) {
    if (f.no === F.tensor.rawData && f.wireType === WIRE_LEN && f.payload.length === 8) {
      return Number(new DataView(f.payload.buffer, f.payload.byteOffset, 8).getBigInt64(0, true))
    }
    if (f.no === 7 /* int64_data */) {
      return f.wireType === WIRE_LEN ? readPackedVarints(f.payload)[0] : varintValue(f.payload)
    }
  }
  return undefined
}

/**
 * Every node reading a `"gates"` control input of the installed hooks, with the layer column it reads when it is
 * a `Gather(gates, constant column, axis=1)` (as every gated hook kind of this package installs it).
 */
export function gateReads(
  nodes: readonly NodeProto[],
  hooks: readonly InstalledHook[],
  initializers: ReadonlyMap<string, InitializerProto>,
): GateRead[] {
  const gateInputs = new Map<string, InstalledHook>()
  for (const hook of hooks) for (const input of hook.inputs) if (input.layout === "gates") gateInputs.set(input.name, hook)
  const reads: GateRead[] = []
  for (const node of nodes) {
    for (const input of node.inputs) {
      const hook = gateInputs.get(input)
      if (hook === undefined) continue
      let layer: string | undefined
      if (node.opType === "Gather" && node.domain === "" && node.inputs[0] === input && intAttributeOf(node, "axis") === 1) {
        const column = int64ScalarOf(initializers.get(node.inputs[1] ?? ""))
        if (column !== undefined) layer = hook.layers[column]
      }
      reads.push({ node, input, kind: hook.kind, layer })
    }
  }
  return reads
}

/**
 * Checks the requested perturbed layers against the installed gated hooks and returns them as a set of
 * `kind\u0000path` keys. Unknown kinds or layers are {@link HookError}s naming the valid ones.
 */
export function perturbedKeys(hooks: readonly InstalledHook[], layers: Readonly<Record<string, readonly string[]>>): Set<string> {
  const keys = new Set<string>()
  for (const [kind, paths] of Object.entries(layers)) {
    if (paths.length === 0) continue
    const hook = hooks.find((h) => h.kind === kind && h.inputs.some((i) => i.layout === "gates"))
    if (hook === undefined) {
      throw new HookError(
        `cannot split at layers of hook kind "${kind}": it is not a gated hook installed on this graph (gated kinds: ${hooks.filter((h) => h.inputs.some((i) => i.layout === "gates")).map((h) => h.kind).join(", ") || "none"}). Install it with loadHookedModel's hooks.`,
      )
    }
    for (const path of paths) {
      if (!hook.layers.includes(path)) {
        throw new HookError(
          `cannot split at layer "${path}": hook "${kind}" has no such layer; its layers are ${hook.layers.join(", ")}. Resolve patterns with resolveLayers first.`,
        )
      }
      keys.add(`${kind}\u0000${path}`)
    }
  }
  if (keys.size === 0) {
    throw new HookError("cannot split a graph at no layers: pass at least one perturbed layer (e.g. { \"identity-attention\": [\"mid_block.attentions.0.transformer_blocks.0.attn1\"] }).")
  }
  return keys
}

/**
 * Removes the hook of a gate that is 0 in every row, when it has the shape every gated kind of this package
 * installs: `out = base + Mul(gate, delta)` (identity attention: `core + g·(V − core)`). Consumers of `out` are
 * rewired to `base`, which is exact for gate 0 (`base + 0·delta = base` for finite values); the hook's nodes are
 * left dead for the caller's dead-node pass. Returns false when the pattern is not recognised (the caller then
 * keeps the nodes and feeds the gate).
 *
 * `nodes` must be private copies: their inputs are rewritten.
 */
export function bypassZeroGate(read: GateRead, nodes: readonly NodeProto[], consumers: ReadonlyMap<string, NodeProto[]>): boolean {
  // gate -> (Unsqueeze | Reshape | Cast)* -> Mul -> Add(base, mul)
  let tensor = read.node.outputs[0] ?? ""
  for (let hops = 0; hops < 4; hops++) {
    const next = consumers.get(tensor) ?? []
    if (next.length !== 1) return false
    const node = next[0]!
    if (node.opType === "Mul") {
      const mulOut = node.outputs[0] ?? ""
      const adds = consumers.get(mulOut) ?? []
      if (adds.length !== 1 || adds[0]!.opType !== "Add") return false
      const add = adds[0]!
      const base = add.inputs[0] === mulOut ? add.inputs[1] : add.inputs[0]
      const out = add.outputs[0]
      if (base === undefined || out === undefined) return false
      for (const consumer of nodes) {
        for (let i = 0; i < consumer.inputs.length; i++) if (consumer.inputs[i] === out) consumer.inputs[i] = base
      }
      return true
    }
    if (!["Unsqueeze", "Reshape", "Cast"].includes(node.opType)) return false
    tensor = node.outputs[0] ?? ""
  }
  return false
}
