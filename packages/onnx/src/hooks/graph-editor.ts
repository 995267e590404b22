// Small, safe edits on a decoded model: add inputs, nodes and initializers; rewire a node input.
import { HookError } from "../errors.js"
import { float32Initializer, int64Initializer, makeInitializer, makeNode } from "../proto/build.js"
import { makeTensorValueInfo } from "../proto/tensor-type.js"
import type { DataTypeCode, ModelProto, NodeProto } from "../proto/types.js"

/** Edits one {@link ModelProto} in place; new names are checked for collisions. */
export class GraphEditor {
  readonly model: ModelProto
  readonly #names = new Set<string>()
  readonly #nodesByName = new Map<string, NodeProto>()

  constructor(model: ModelProto) {
    this.model = model
    const g = model.graph
    for (const node of g.nodes) {
      for (const out of node.outputs) this.#names.add(out)
      if (node.name !== "") this.#nodesByName.set(node.name, node)
    }
    for (const v of [...g.inputs, ...g.outputs, ...g.valueInfo]) this.#names.add(v.name)
    for (const init of g.initializers) this.#names.add(init.name)
  }

  /** Version of the default ONNX opset the model imports. */
  get opset(): number {
    return this.model.opsetImports.find((o) => o.domain === "" || o.domain === "ai.onnx")?.version ?? 1
  }

  /** A tensor name not used yet, based on `base`. */
  fresh(base: string): string {
    let name = base
    for (let i = 1; this.#names.has(name); i++) name = `${base}_${i}`
    this.#names.add(name)
    return name
  }

  /** True when the graph has this input. */
  hasInput(name: string): boolean {
    return this.model.graph.inputs.some((v) => v.name === name)
  }

  /** Adds a graph input of the given element type and dims. */
  addInput(name: string, elemType: DataTypeCode, dims: readonly (number | string)[]): void {
    if (this.#names.has(name)) {
      throw new HookError(`cannot add graph input "${name}": the model already has a tensor of that name. Load the original model, not one already hooked.`)
    }
    this.#names.add(name)
    this.model.graph.inputs.push(makeTensorValueInfo(name, elemType, dims))
  }

  /** Adds an int64 constant initializer and returns its name. */
  addInt64(base: string, values: readonly number[], dims?: readonly number[]): string {
    const name = this.fresh(base)
    this.model.graph.initializers.push(int64Initializer(name, values, dims ?? [values.length]))
    return name
  }

  /** Adds a float32 constant initializer (e.g. projection weights) and returns its name. */
  addFloat32(base: string, values: Float32Array, dims?: readonly number[]): string {
    const name = this.fresh(base)
    this.model.graph.initializers.push(float32Initializer(name, values, dims ?? [values.length]))
    return name
  }

  /** Adds an initializer from little-endian element bytes of any ONNX data type (e.g. FLOAT16) and returns its name. */
  addInitializer(base: string, dataType: DataTypeCode, dims: readonly number[], raw: Uint8Array): string {
    const name = this.fresh(base)
    this.model.graph.initializers.push(makeInitializer(name, dataType, dims, raw))
    return name
  }

  /** Appends a node with several outputs (e.g. Split); returns their names. */
  addNodeOutputs(
    opType: string,
    inputs: readonly string[],
    options: { readonly base: string; readonly outputs: number; readonly attributes?: readonly Uint8Array[] },
  ): string[] {
    const outputs = Array.from({ length: options.outputs }, (_, i) => this.fresh(`${options.base}_output_${i}`))
    const node = makeNode({ opType, name: this.fresh(options.base), inputs, outputs, attributes: options.attributes ?? [] })
    this.model.graph.nodes.push(node)
    this.#nodesByName.set(node.name, node)
    return outputs
  }

  /** Current input `index` of the named node (after earlier hooks' rewiring). */
  inputOf(nodeName: string, index: number): string {
    const input = this.#nodesByName.get(nodeName)?.inputs[index]
    if (input === undefined) {
      throw new HookError(`node "${nodeName}" has no input ${index}; the graph does not match its layer index.`)
    }
    return input
  }

  /** Appends a node (topological order is restored by {@link GraphEditor.sortNodes}); returns its first output. */
  addNode(opType: string, inputs: readonly string[], base: string, attributes: readonly Uint8Array[] = []): string {
    const output = this.fresh(`${base}_output_0`)
    const node = makeNode({ opType, name: this.fresh(base), inputs, outputs: [output], attributes })
    this.model.graph.nodes.push(node)
    this.#nodesByName.set(node.name, node)
    return output
  }

  /** Appends a node whose output gets a name chosen before (e.g. by {@link GraphEditor.fresh}). */
  addNodeWithOutput(opType: string, inputs: readonly string[], output: string, base: string, attributes: readonly Uint8Array[] = []): void {
    const node = makeNode({ opType, name: this.fresh(base), inputs, outputs: [output], attributes })
    this.model.graph.nodes.push(node)
    this.#nodesByName.set(node.name, node)
  }

  /**
   * Makes every node that reads `tensor` read `replacement` instead (how a hook cuts in after a module's output).
   * A graph output cannot be redirected this way: that is a {@link HookError}.
   */
  replaceUses(tensor: string, replacement: string): void {
    if (this.model.graph.outputs.some((o) => o.name === tensor)) {
      throw new HookError(
        `cannot hook "${tensor}": it is a graph output, and a hook can only redirect tensors that other nodes read. Hook a module that is followed by another operation.`,
      )
    }
    for (const node of this.model.graph.nodes) {
      node.inputs.forEach((input, i) => {
        if (input === tensor) node.inputs[i] = replacement
      })
    }
  }

  /** Replaces input `index` of the named node. */
  rewire(nodeName: string, index: number, expected: string, replacement: string): void {
    const node = this.#nodesByName.get(nodeName)
    if (node === undefined || node.inputs[index] !== expected) {
      throw new HookError(
        `cannot rewire node "${nodeName}": expected its input ${index} to be "${expected}", found ${node === undefined ? "no such node" : `"${node.inputs[index]}"`}. The graph changed after it was indexed.`,
      )
    }
    node.inputs[index] = replacement
  }

  /** Re-orders nodes topologically (stable: original order wherever dependencies allow). */
  sortNodes(): void {
    const nodes = this.model.graph.nodes
    const producer = new Map<string, number>()
    nodes.forEach((n, i) => n.outputs.forEach((o) => producer.set(o, i)))
    const state = new Uint8Array(nodes.length) // 0 new, 1 visiting, 2 done
    const order: NodeProto[] = []
    const visit = (start: number): void => {
      const stack: [number, number][] = [[start, 0]]
      state[start] = 1
      while (stack.length > 0) {
        const top = stack[stack.length - 1]!
        const [i, k] = top
        const node = nodes[i]!
        if (k < node.inputs.length) {
          top[1] = k + 1
          const p = producer.get(node.inputs[k]!)
          if (p !== undefined && state[p] === 0) {
            state[p] = 1
            stack.push([p, 0])
          }
          continue
        }
        stack.pop()
        state[i] = 2
        order.push(node)
      }
    }
    for (let i = 0; i < nodes.length; i++) if (state[i] === 0) visit(i)
    this.model.graph.nodes = order
  }
}
