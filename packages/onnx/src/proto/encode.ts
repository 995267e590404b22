import { F } from "./types.js"
import type { GraphProto, ModelProto, NodeProto, StringEntry, ValueInfoProto } from "./types.js"
import { ProtoWriter } from "./wire.js"
import type { RawField } from "./wire.js"

/** A field to write: its number (for canonical ordering) and how to write it. */
type Entry = readonly [no: number, write: (w: ProtoWriter) => void]

/**
 * Writes decoded entries and raw fields ordered by field number (stable), as protobuf serializers do;
 * a model that was written canonically round-trips byte for byte.
 */
function writeEntries(w: ProtoWriter, entries: Entry[], rest: readonly RawField[]): void {
  const all: Entry[] = [...entries, ...rest.map((f): Entry => [f.no, (x) => x.raw(f.bytes)])]
  const order = all.map((_, i) => i).sort((a, b) => all[a]![0] - all[b]![0] || a - b)
  for (const i of order) all[i]![1](w)
}

function entryWriter(no: number, entry: StringEntry): Entry {
  return [no, (w) => w.message(no, (m) => m.string(F.entry.key, entry.key).string(F.entry.value, entry.value))]
}

/** Encodes a `NodeProto`'s content. */
export function writeNode(w: ProtoWriter, node: NodeProto): void {
  const entries: Entry[] = []
  for (const input of node.inputs) entries.push([F.node.input, (x) => x.string(F.node.input, input)])
  for (const output of node.outputs) entries.push([F.node.output, (x) => x.string(F.node.output, output)])
  if (node.name !== "") entries.push([F.node.name, (x) => x.string(F.node.name, node.name)])
  if (node.opType !== "") entries.push([F.node.opType, (x) => x.string(F.node.opType, node.opType)])
  for (const attribute of node.attributes) entries.push([F.node.attribute, (x) => x.bytes(F.node.attribute, attribute)])
  if (node.domain !== "") entries.push([F.node.domain, (x) => x.string(F.node.domain, node.domain)])
  for (const entry of node.metadata) entries.push(entryWriter(F.node.metadata, entry))
  writeEntries(w, entries, node.rest)
}

/** Encodes a `ValueInfoProto`'s content. */
export function writeValueInfo(w: ProtoWriter, info: ValueInfoProto): void {
  const entries: Entry[] = [[F.valueInfo.name, (x) => x.string(F.valueInfo.name, info.name)]]
  const type = info.type
  if (type !== undefined) entries.push([F.valueInfo.type, (x) => x.bytes(F.valueInfo.type, type)])
  writeEntries(w, entries, info.rest)
}

/** Encodes a `GraphProto`'s content. */
export function writeGraph(w: ProtoWriter, graph: GraphProto): void {
  const entries: Entry[] = []
  const g = F.graph
  for (const node of graph.nodes) entries.push([g.node, (x) => x.message(g.node, (m) => writeNode(m, node))])
  if (graph.name !== "") entries.push([g.name, (x) => x.string(g.name, graph.name)])
  for (const init of graph.initializers) entries.push([g.initializer, (x) => x.bytes(g.initializer, init.bytes)])
  for (const input of graph.inputs) entries.push([g.input, (x) => x.message(g.input, (m) => writeValueInfo(m, input))])
  for (const output of graph.outputs) entries.push([g.output, (x) => x.message(g.output, (m) => writeValueInfo(m, output))])
  for (const info of graph.valueInfo) entries.push([g.valueInfo, (x) => x.message(g.valueInfo, (m) => writeValueInfo(m, info))])
  writeEntries(w, entries, graph.rest)
}

/**
 * Encodes a {@link ModelProto} to bytes. Initializer data and undecoded fields are copied verbatim.
 *
 * @example
 * const bytes = encodeModel(decodeModel(original)) // byte-identical for canonical files
 */
export function encodeModel(model: ModelProto): Uint8Array {
  const w = new ProtoWriter()
  const entries: Entry[] = [
    [F.model.irVersion, (x) => x.varint(F.model.irVersion, model.irVersion)],
    [F.model.graph, (x) => x.message(F.model.graph, (m) => writeGraph(m, model.graph))],
  ]
  for (const opset of model.opsetImports) {
    entries.push([
      F.model.opsetImport,
      (x) =>
        x.message(F.model.opsetImport, (m) => {
          if (opset.domain !== "" || opset.explicitDomain === true) m.string(F.opset.domain, opset.domain)
          m.varint(F.opset.version, opset.version)
        }),
    ])
  }
  writeEntries(w, entries, model.rest)
  return w.finish()
}
