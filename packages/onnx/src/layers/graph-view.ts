// Producer/consumer maps and module paths over a decoded graph, for the layer index and hooks.
import type { GraphProto, NodeProto } from "../proto/types.js"
import { nodeModulePath } from "./module-paths.js"
import type { ModulePathSource } from "./module-paths.js"

/** Lookup tables over one graph. Indices refer to `graph.nodes` at construction time. */
export class GraphView {
  readonly graph: GraphProto
  /** Module path per node (`undefined` when unknown). */
  readonly modulePaths: (string | undefined)[]
  /** Which source gave most paths. */
  readonly source: ModulePathSource | undefined
  readonly producer = new Map<string, number>()
  readonly consumers = new Map<string, number[]>()
  readonly initializers = new Map<string, number>()
  readonly graphInputs: Set<string>
  readonly graphOutputs: Set<string>
  /** Tensors computed from weights and constants only (initializers, Constant nodes, Identity/Cast of them, …). */
  readonly constants = new Set<string>()

  constructor(graph: GraphProto) {
    this.graph = graph
    let names = 0
    let scopes = 0
    this.modulePaths = graph.nodes.map((node) => {
      const found = nodeModulePath(node)
      if (found?.source === "name-scopes") scopes++
      else if (found !== undefined) names++
      return found?.path
    })
    this.source = scopes === 0 && names === 0 ? undefined : scopes >= names ? "name-scopes" : "node-names"
    graph.nodes.forEach((node, i) => {
      for (const output of node.outputs) if (output !== "") this.producer.set(output, i)
      for (const input of node.inputs) {
        if (input === "") continue
        const list = this.consumers.get(input)
        if (list === undefined) this.consumers.set(input, [i])
        else list.push(i)
      }
    })
    graph.initializers.forEach((init, i) => this.initializers.set(init.name, i))
    this.graphInputs = new Set(graph.inputs.map((v) => v.name))
    this.graphOutputs = new Set(graph.outputs.map((v) => v.name))
    for (const init of graph.initializers) if (!this.graphInputs.has(init.name)) this.constants.add(init.name)
    // nodes are topologically sorted in a valid graph, so one pass propagates constness
    for (const node of graph.nodes) {
      const inputs = node.inputs.filter((i) => i !== "")
      if (node.opType === "Constant" || (inputs.length > 0 && inputs.every((i) => this.constants.has(i)))) {
        for (const output of node.outputs) this.constants.add(output)
      }
    }
  }

  /** The node at an index. */
  node(index: number): NodeProto {
    return this.graph.nodes[index]!
  }

  /** Node indices whose module path is `module` or inside it, in graph order. */
  nodesWithin(module: string): number[] {
    const prefix = `${module}.`
    const out: number[] = []
    this.modulePaths.forEach((p, i) => {
      if (p !== undefined && (p === module || p.startsWith(prefix))) out.push(i)
    })
    return out
  }

  /** True when a tensor is a weight or computed from constants only. */
  isConstant(name: string): boolean {
    return this.constants.has(name)
  }

  /**
   * The boundary of a set of nodes: non-constant tensors they consume from outside, and tensors they
   * produce that are used outside (or are graph outputs), in graph order.
   */
  boundary(nodes: readonly number[]): { inputs: string[]; outputs: string[] } {
    const inside = new Set(nodes)
    const inputs: string[] = []
    const outputs: string[] = []
    for (const i of nodes) {
      const node = this.node(i)
      for (const input of node.inputs) {
        if (input === "" || inputs.includes(input) || this.isConstant(input)) continue
        const p = this.producer.get(input)
        if (p === undefined ? this.graphInputs.has(input) : !inside.has(p)) inputs.push(input)
      }
      for (const output of node.outputs) {
        const used = this.consumers.get(output) ?? []
        if (this.graphOutputs.has(output) || used.some((c) => !inside.has(c))) outputs.push(output)
      }
    }
    return { inputs, outputs }
  }
}
