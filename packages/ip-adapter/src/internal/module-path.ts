// PyTorch module path of an ONNX node, from the legacy exporter's node names (`/vision_model/encoder/layers.1/
// self_attn/MatMul` → `vision_model.encoder.layers.1.self_attn`) or the dynamo exporter's
// `pkg.torch.onnx.name_scopes` metadata. A local copy of the idea behind @pagkit/onnx's (unexported)
// `layers/module-paths.ts` `nodeModulePath`, for transformers models (no diffusers root to strip).
import type { NodeProto } from "@pagkit/onnx"

const NAME_SCOPES_KEY = "pkg.torch.onnx.name_scopes"

function pythonStrings(text: string): string[] {
  return [...text.matchAll(/'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"/g)].map((m) => (m[1] ?? m[2] ?? "").replace(/\\(.)/g, "$1"))
}

/** Module path of a node, or `undefined` when neither its name nor its metadata carries one. */
export function nodeModulePath(node: NodeProto): string | undefined {
  const scopes = node.metadata.find((e) => e.key === NAME_SCOPES_KEY)?.value
  if (scopes !== undefined) {
    // scopes form a chain of dotted extensions; the deepest module scope is the path
    let deepest: string | undefined
    for (const scope of pythonStrings(scopes)) {
      if (deepest === undefined || deepest === "" || scope.startsWith(`${deepest}.`)) deepest = scope
      else break
    }
    if (deepest !== undefined && deepest !== "") return deepest
  }
  if (!node.name.startsWith("/")) return undefined
  const parts = node.name.slice(1).split("/")
  return parts.length < 2 ? undefined : parts.slice(0, -1).join(".")
}

/** True when `path` is `module` or inside it (whole components). */
export function isWithin(path: string, module: string): boolean {
  return path === module || path.startsWith(`${module}.`)
}
