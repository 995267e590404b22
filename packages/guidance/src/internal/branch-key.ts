import type { BranchSpec, HookActivations } from "../types.js"

/** Hooks with empty pattern lists dropped, kinds sorted, patterns deduplicated (first-seen order kept). */
export function normalizeHooks(hooks: HookActivations | undefined): HookActivations {
  const normalized: Record<string, readonly string[]> = {}
  if (hooks === undefined) return Object.freeze(normalized)
  for (const kind of Object.keys(hooks).sort()) {
    const patterns = [...new Set(hooks[kind] ?? [])]
    if (patterns.length > 0) normalized[kind] = Object.freeze(patterns)
  }
  return Object.freeze(normalized)
}

/** A string equal for two branches exactly when their rows would be computed identically. */
export function contentKey(branch: BranchSpec): string {
  const hooks = normalizeHooks(branch.hooks)
  const canonical = Object.keys(hooks).map((kind) => [kind, [...(hooks[kind] ?? [])].sort()])
  return `${branch.conditioning}|${JSON.stringify(canonical)}`
}

/** Content key of the plain unconditional branch. */
export const UNCOND_KEY = contentKey({ name: "uncond", conditioning: "uncond" })
/** Content key of the plain conditional branch. */
export const COND_KEY = contentKey({ name: "cond", conditioning: "cond" })

/** Short human description of a branch spec, for error messages. */
export function describeBranch(branch: BranchSpec): string {
  const hooks = normalizeHooks(branch.hooks)
  const parts = Object.keys(hooks).map((kind) => `${kind}: [${(hooks[kind] ?? []).join(", ")}]`)
  return `"${branch.name}" (${branch.conditioning}${parts.length > 0 ? `, ${parts.join("; ")}` : ", no hooks"})`
}
