// Layer patterns -> self-attention module paths (SPEC §3).
// diffusers mode ports diffusers/pipelines/pag/pag_utils.py PAGMixin._set_pag_attn_processor:
// an unanchored `re.search(pattern, name)` over self-attention module names, ValueError when nothing matches.
import { LayerPatternError } from "../errors.js"
import type { LayerIndex } from "./layer-index.js"
import { layerSites } from "./targets.js"
import type { LayerTarget } from "./targets.js"

/** How patterns are read. */
export type LayerPatternMode = "diffusers" | "strict"

/** Options of {@link resolveLayers}. */
export interface ResolveLayersOptions {
  /**
   * `"diffusers"` (default, reproduces diffusers' pipelines): exactly its `re.search` semantics (`"blocks.1"` also
   * hits blocks 10–19, with a note saying so; the PAG guide's `"down.block_2"` syntax raises).
   * `"strict"`: numbers match whole path components, the structured syntax
   * `(down|mid|up)[.block_N][.attentions_M][.transformer_blocks_K]` is accepted, and a note says where
   * diffusers would have selected something else.
   */
  readonly mode?: LayerPatternMode
  /** Which sites the patterns select among (default `"self-attention"`, PAG's). */
  readonly target?: LayerTarget
}

/** Result of {@link resolveLayers}. */
export interface ResolvedLayers {
  /** Selected self-attention module paths, in index order, without duplicates. */
  readonly layers: readonly string[]
  /** Human-readable notes (e.g. where strict and diffusers semantics differ). */
  readonly notes: readonly string[]
}

const STRUCTURED = /^(down|mid|up)(?:\.block_(\d+))?(?:\.attentions_(\d+))?(?:\.transformer_blocks_(\d+))?$/

/** Translates the few Python-only regex spellings to JavaScript (`(?P<n>`, `(?P=n)`, `\A`, `\Z`). */
function pythonRegex(pattern: string, strict: boolean): RegExp {
  const source = pattern
    .replace(/\(\?P<([A-Za-z_]\w*)>/g, "(?<$1>")
    .replace(/\(\?P=([A-Za-z_]\w*)\)/g, "\\k<$1>")
    .replace(/\\A/g, "^")
    .replace(/\\Z/g, "$")
  // strict: a match may not start or end inside a number ("blocks.1" must not hit "blocks.10").
  const wrapped = strict ? `(?:(?<![0-9])|(?![0-9]))(?:${source})(?:(?<=[0-9])(?![0-9])|(?<![0-9]))` : source
  return new RegExp(wrapped)
}

/** Structured syntax -> module path prefix: `down.block_2.attentions_1` -> `down_blocks.2.attentions.1`. */
export function structuredPrefix(pattern: string): string | undefined {
  const m = STRUCTURED.exec(pattern)
  if (m === null) return undefined
  const [, part, block, attention, transformer] = m
  if (part === "mid" && block !== undefined) return undefined
  let prefix = part === "mid" ? "mid_block" : `${part}_blocks`
  if (block !== undefined) prefix += `.${block}`
  if (attention !== undefined) prefix += `.attentions.${attention}`
  if (transformer !== undefined) prefix += `.transformer_blocks.${transformer}`
  return prefix
}

function compile(pattern: string, strict: boolean): RegExp {
  try {
    return pythonRegex(pattern, strict)
  } catch (error) {
    throw new LayerPatternError(
      pattern,
      `layer pattern "${pattern}" is not a valid regular expression (${(error as Error).message}). Use a module path such as "mid_block.attentions.0" or a regex such as "down_blocks.(1|2)".`,
      { cause: error },
    )
  }
}

/** Paths matched by one pattern in diffusers mode. */
export function matchDiffusers(pattern: string, paths: readonly string[]): string[] {
  const regex = compile(pattern, false)
  return paths.filter((p) => regex.test(p))
}

/** Paths matched by one pattern in strict mode (structured syntax, whole-number components). */
export function matchStrict(pattern: string, paths: readonly string[]): string[] {
  const prefix = structuredPrefix(pattern)
  if (prefix !== undefined) return paths.filter((p) => p === prefix || p.startsWith(`${prefix}.`))
  const regex = compile(pattern, true)
  return paths.filter((p) => regex.test(p))
}

function list(paths: readonly string[]): string {
  return paths.map((p) => `  ${p}`).join("\n")
}

function notFound(pattern: string, paths: readonly string[], mode: LayerPatternMode, target: LayerTarget): LayerPatternError {
  const hint =
    mode === "diffusers" && structuredPrefix(pattern) !== undefined
      ? ` ("${pattern}" is the PAG guide's structured syntax, which diffusers does not accept; use mode "strict" or the module path "${structuredPrefix(pattern)}".)`
      : ""
  return new LayerPatternError(
    pattern,
    `layer pattern "${pattern}" matched no ${target} site (mode "${mode}").${hint} Available ${target} sites:\n${list(paths)}\nPass a part of one of these paths (e.g. "mid", "down_blocks.2"), a regex, or a whole path.`,
  )
}

/**
 * Resolves layer patterns to module paths of one target type (default: self-attention). Every pattern must match at least one layer.
 *
 * @example
 * resolveLayers(index, ["mid"]).layers            // ["mid_block.attentions.0.transformer_blocks.0.attn1", …]
 * resolveLayers(index, ["blocks.1"], { mode: "strict" }).notes // says diffusers would also take blocks 10, 11
 */
export function resolveLayers(
  index: LayerIndex | readonly string[],
  patterns: readonly string[],
  options: ResolveLayersOptions = {},
): ResolvedLayers {
  const mode = options.mode ?? "diffusers"
  const target = options.target ?? "self-attention"
  const paths: readonly string[] = Array.isArray(index) ? (index as readonly string[]) : layerSites(index as LayerIndex, target)
  const selected = new Set<string>()
  const notes: string[] = []
  for (const pattern of patterns) {
    const matched = mode === "diffusers" ? matchDiffusers(pattern, paths) : matchStrict(pattern, paths)
    if (matched.length === 0) throw notFound(pattern, paths, mode, target)
    if (mode === "strict") {
      let diffusers: string[] | undefined
      try {
        diffusers = matchDiffusers(pattern, paths)
      } catch {
        diffusers = undefined
      }
      const extra = diffusers?.filter((p) => !matched.includes(p)) ?? []
      const missing = diffusers?.length === 0 ? matched : matched.filter((p) => !(diffusers ?? []).includes(p))
      if (extra.length > 0) {
        notes.push(
          `"${pattern}": selected ${matched.length} layer(s) with whole-number matching; diffusers' re.search would also select ${extra.join(", ")} (use mode "diffusers" for that).`,
        )
      } else if (missing.length > 0) {
        notes.push(`"${pattern}": selected ${matched.length} layer(s); diffusers would ${diffusers?.length === 0 ? "raise (no match)" : `not select ${missing.join(", ")}`}.`)
      }
    }
    if (mode === "diffusers") {
      let strict: string[] = []
      try {
        strict = matchStrict(pattern, paths)
      } catch {
        strict = []
      }
      const extra = strict.length > 0 ? matched.filter((p) => !strict.includes(p)) : []
      if (extra.length > 0) {
        notes.push(
          `"${pattern}": diffusers' re.search also selects ${extra.join(", ")}, where numbers only partly match; mode "strict" would select ${strict.length} layer(s) without them.`,
        )
      }
    }
    for (const p of matched) selected.add(p)
  }
  return { layers: paths.filter((p) => selected.has(p)), notes }
}
