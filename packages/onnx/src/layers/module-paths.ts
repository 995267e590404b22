// Recovers the PyTorch module path of each ONNX node: from legacy (TorchScript) node names
// ("/mid_block/attentions.0/transformer_blocks.1/attn1/to_q/MatMul") or from dynamo's node metadata
// ("pkg.torch.onnx.name_scopes" with "pkg.torch.onnx.class_hierarchy").
import type { NodeProto } from "../proto/types.js"

/** Where module paths came from. */
export type ModulePathSource = "node-names" | "name-scopes"

/** Metadata keys the dynamo exporter writes on every node. */
export const NAME_SCOPES_KEY = "pkg.torch.onnx.name_scopes"
export const CLASS_HIERARCHY_KEY = "pkg.torch.onnx.class_hierarchy"

/** Parses a Python list-of-strings repr such as `['', 'u', 'u.mid_block']`. */
export function parsePythonStringList(text: string): string[] {
  const items: string[] = []
  const pattern = /'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"/g
  for (const match of text.matchAll(pattern)) items.push((match[1] ?? match[2] ?? "").replace(/\\(.)/g, "$1"))
  return items
}

/** Module path of a legacy node name: `/a/b.0/c/MatMul` -> `a.b.0.c`; `undefined` when the name has no scope. */
export function modulePathFromNodeName(name: string): string | undefined {
  if (!name.startsWith("/")) return undefined
  const parts = name.slice(1).split("/")
  if (parts.length < 2) return undefined
  return parts.slice(0, -1).join(".")
}

/**
 * Module path from dynamo metadata: the deepest module scope, relative to the outermost diffusers model
 * (a wrapper module such as `u` around the UNet is stripped using the class hierarchy).
 */
export function modulePathFromNameScopes(scopesText: string, classesText: string | undefined): string | undefined {
  const scopes = parsePythonStringList(scopesText)
  // Module scopes form a chain of dotted extensions; the trailing entry is the op's own name.
  const chain: string[] = []
  for (const scope of scopes) {
    const previous = chain[chain.length - 1]
    if (previous === undefined || previous === "" || scope.startsWith(`${previous}.`)) chain.push(scope)
    else break
  }
  if (chain.length === 0) return undefined
  const classes = classesText === undefined ? [] : parsePythonStringList(classesText)
  const rootIndex = classes.findIndex((c) => c.startsWith("diffusers."))
  const root = rootIndex >= 0 && rootIndex < chain.length ? chain[rootIndex]! : ""
  const deepest = chain[chain.length - 1]!
  if (root === "") return deepest
  if (deepest === root) return ""
  return deepest.startsWith(`${root}.`) ? deepest.slice(root.length + 1) : undefined
}

/** Module path of one node, from its metadata when present, else from its name. */
export function nodeModulePath(node: NodeProto): { path: string; source: ModulePathSource } | undefined {
  let scopes: string | undefined
  let classes: string | undefined
  for (const entry of node.metadata) {
    if (entry.key === NAME_SCOPES_KEY) scopes = entry.value
    else if (entry.key === CLASS_HIERARCHY_KEY) classes = entry.value
  }
  if (scopes !== undefined) {
    const path = modulePathFromNameScopes(scopes, classes)
    if (path !== undefined) return { path, source: "name-scopes" }
  }
  const path = modulePathFromNodeName(node.name)
  return path === undefined ? undefined : { path, source: "node-names" }
}

/** True when `path` is `module` or inside it (whole components). */
export function isWithin(path: string, module: string): boolean {
  return module === "" || path === module || path.startsWith(`${module}.`)
}
