// Smoothed Energy Guidance's perturbation as a graph rewrite: the self-attention query is blurred over the token
// grid by per-row operators fed at run time (σ is a runtime value, never part of the rewrite).
// Reference: SusungHong/SEG-SDXL pipeline_seg.py SEGCFGSelfAttnProcessor (blur of the query over its h×w grid, with
// heads merged channel-wise, which is the same per-channel blur) and gaussian_blur_2d; diffusers'
// hooks/smoothed_energy_guidance_utils.py (_gaussian_blur_2d, seg_blur_threshold_inf).
import { Tensor } from "@pagkit/tensor"
import { HookError } from "../errors.js"
import type { AttentionModule, LayerIndex } from "../layers/layer-index.js"
import { intAttribute, intsAttribute } from "../proto/build.js"
import { DataType } from "../proto/types.js"
import { gaussianBlurOperator } from "./gaussian-blur-operator.js"
import { batchParam } from "./gate-column.js"
import type { GraphEditor } from "./graph-editor.js"
import type { ControlInput, FeedContext, HookKind, InstalledHook, RowActivation } from "./hook-kind.js"

/** Name of the query-blur kind (Smoothed Energy Guidance). Look the kind up by this constant, never by a string literal. */
export const QUERY_BLUR = "query-blur"

/** Options of {@link queryBlur}. */
export interface QueryBlurOptions {
  /** σ above this blurs to the global mean of the queries. Default 9999999 (diffusers' `seg_blur_threshold_inf`). */
  readonly blurThresholdInf?: number
  /** Prefix of the operator inputs (`<prefix>_h_<j>`, `<prefix>_w_<j>`). Default `"query_blur"`. */
  readonly inputPrefix?: string
}

function blurSite(editor: GraphEditor, layer: AttentionModule, names: { readonly h: string; readonly w: string }, batch: string, column: number): void {
  const base = `/pagkit/query_blur/${layer.path.replaceAll(".", "/")}`
  editor.addInput(names.h, DataType.FLOAT, [batch, `query_blur_h_${column}`, `query_blur_h_${column}`])
  editor.addInput(names.w, DataType.FLOAT, [batch, `query_blur_w_${column}`, `query_blur_w_${column}`])
  const cast = (t: string, what: string) =>
    layer.elemType === DataType.FLOAT ? t : editor.addNode("Cast", [t], `${base}/${what}/Cast`, [intAttribute("to", layer.elemType)])
  const blurH = cast(names.h, "h") // [b, h, h]
  const blurW = cast(names.w, "w") // [b, w, w]
  const query = layer.toQ.output // [b, h·w, c], tokens row-major
  const blurred = editor.fresh(`${base}/blurred_query`)
  editor.replaceUses(query, blurred)
  const second = editor.addInt64(`${base}/second`, [1])
  const h = editor.addNode("Gather", [editor.addNode("Shape", [blurH], `${base}/h/Shape`), second], `${base}/h/Gather`)
  const w = editor.addNode("Gather", [editor.addNode("Shape", [blurW], `${base}/w/Shape`), second], `${base}/w/Gather`)
  const keep = editor.addInt64(`${base}/keep`, [0])
  const rest = editor.addInt64(`${base}/rest`, [-1])
  const concat = (inputs: string[], what: string) => editor.addNode("Concat", inputs, `${base}/${what}/Concat`, [intAttribute("axis", 0)])
  // blur along the grid's rows: [b, h, h] @ [b, h, w·c]
  const rows = editor.addNode("Reshape", [query, concat([keep, h, rest], "rows")], `${base}/rows/Reshape`)
  const blurredRows = editor.addNode("MatMul", [blurH, rows], `${base}/rows/MatMul`)
  // then along its columns: [b, 1, w, w] @ [b, h, w, c]
  const grid = editor.addNode("Reshape", [blurredRows, concat([keep, h, w, rest], "grid")], `${base}/grid/Reshape`)
  const blurW4 =
    editor.opset >= 13
      ? editor.addNode("Unsqueeze", [blurW, editor.addInt64(`${base}/axes`, [1])], `${base}/w/Unsqueeze`)
      : editor.addNode("Unsqueeze", [blurW], `${base}/w/Unsqueeze`, [intsAttribute("axes", [1])])
  const blurredGrid = editor.addNode("MatMul", [blurW4, grid], `${base}/columns/MatMul`)
  editor.addNodeWithOutput("Reshape", [blurredGrid, editor.addNode("Shape", [query], `${base}/Shape`)], blurred, `${base}/Reshape`)
}

/** Identity matrices `[rows, n, n]`. */
function identities(rows: number, n: number): Float32Array {
  const data = new Float32Array(rows * n * n)
  for (let b = 0; b < rows; b++) for (let i = 0; i < n; i++) data[b * n * n + i * n + i] = 1
  return data
}

/**
 * The query-blur hook kind (Smoothed Energy Guidance). For every self-attention site `j` it adds two operator inputs,
 * `query_blur_h_<j>` `[batch, h, h]` and `query_blur_w_<j>` `[batch, w, w]` (layout `"custom"`), and replaces the
 * query `q` (output of `to_q`, `[batch, h·w, channels]`) by `Bw · (Bh · q)` over the site's `h×w` token grid
 * (read from the operators' shapes at run time). Its {@link HookKind.feeds} builds the operators from each row's σ
 * (`RowActivation.value`) and `context.tokenGrid(site)`: SEG's Gaussian with reflect padding
 * ({@link gaussianBlurOperator}), the mean for σ above `blurThresholdInf`, the identity where a row is off — so off
 * rows are the plain model exactly and σ changes only input values.
 *
 * @example
 * const unet = await loadHookedModel("unet/model.onnx", { hooks: [identityAttention(), queryBlur()] })
 * const context = { sampleShape: sample.shape, tokenGrid: unetTokenGrid(unet.index, sample.shape) }
 * const feeds = hookFeeds(kind, unet.hook(QUERY_BLUR), [undefined, undefined, { layers: midLayers, value: 10 }], context)
 */
export function queryBlur(options: QueryBlurOptions = {}): HookKind {
  const prefix = options.inputPrefix ?? "query_blur"
  const threshold = options.blurThresholdInf ?? 9999999
  return {
    name: QUERY_BLUR,
    version: 1,
    target: "self-attention",
    cacheKey: prefix,
    layers: (index: LayerIndex) => index.selfAttention.map((a) => a.path),
    install(editor: GraphEditor, index: LayerIndex): InstalledHook {
      const layers = index.selfAttention
      if (layers.length === 0) {
        throw new HookError(
          `query blur needs self-attention modules, but the layer index found none (attention modules: ${index.attention.length}, joint: ${index.jointAttention?.length ?? 0}). Use a UNet or DiT export whose self-attention has to_q/to_k/to_v/to_out.0.`,
        )
      }
      const batch = batchParam(editor)
      const inputs: ControlInput[] = []
      layers.forEach((layer, column) => {
        const names = { h: `${prefix}_h_${column}`, w: `${prefix}_w_${column}` }
        blurSite(editor, layer, names, batch, column)
        inputs.push(
          { name: names.h, layout: "custom", site: layer.path, description: `per row: the blur along the token grid's height at ${layer.path} ([batch, h, h]; identity = off)` },
          { name: names.w, layout: "custom", site: layer.path, description: `per row: the blur along the token grid's width at ${layer.path} ([batch, w, w]; identity = off)` },
        )
      })
      return { kind: QUERY_BLUR, target: "self-attention", layers: layers.map((a) => a.path), inputs }
    },
    feeds(installed: InstalledHook, rows: readonly (RowActivation | undefined)[], context: FeedContext): Record<string, Tensor> {
      const known = new Set(installed.layers)
      rows.forEach((row, b) => {
        for (const layer of row?.layers ?? []) {
          if (!known.has(layer)) {
            throw new HookError(`layer "${layer}" (row ${b}) is not one of the ${known.size} self-attention sites of hook "${installed.kind}". Resolve patterns with resolveLayers first.`)
          }
        }
        if (row !== undefined && row.layers.length > 0 && (row.value === undefined || Number.isNaN(row.value) || row.value < 0)) {
          throw new HookError(
            `query blur: row ${b} is on but its blur sigma (RowActivation.value) is ${String(row.value)}; expected σ ≥ 0 (Infinity for the mean query). Pass the row's σ, e.g. { layers, value: 10 }.`,
          )
        }
      })
      const cache = new Map<string, Float32Array>()
      const operator = (n: number, sigma: number) => {
        const key = `${n}:${sigma}`
        let m = cache.get(key)
        if (m === undefined) cache.set(key, (m = gaussianBlurOperator(n, sigma, { blurThresholdInf: threshold })))
        return m
      }
      const feeds: Record<string, Tensor> = {}
      for (const site of installed.layers) {
        const grid = context.tokenGrid?.(site)
        if (grid === undefined) {
          throw new HookError(
            `query blur needs the token grid of "${site}" for a sample of shape [${context.sampleShape.join(", ")}], but the feed context has ${context.tokenGrid === undefined ? "no tokenGrid" : "none for this site"}. Pass tokenGrid: unetTokenGrid(index, sampleShape) for a UNet or patchTokenGrid(patchSize, sampleShape) for a DiT.`,
          )
        }
        // the site's inputs, in install order: height operator, then width operator
        const [heightInput, widthInput] = installed.inputs.filter((i) => i.site === site)
        for (const [input, n] of [[heightInput, grid[0]], [widthInput, grid[1]]] as const) {
          if (input === undefined) throw new HookError(`hook "${installed.kind}" has no operator inputs for "${site}"; the installed hook does not match this kind.`)
          const data = identities(rows.length, n)
          rows.forEach((row, b) => {
            if (row !== undefined && row.layers.includes(site)) data.set(operator(n, row.value ?? 0), b * n * n)
          })
          feeds[input.name] = new Tensor("float32", data, [rows.length, n, n])
        }
      }
      return feeds
    },
  }
}
