import type { BranchSpec, HookActivation, HookActivations } from "../types.js"

/** The layer patterns of an activation. */
export function activationLayers(activation: HookActivation | undefined): readonly string[] {
  if (activation === undefined) return []
  return Array.isArray(activation) ? (activation as readonly string[]) : (activation as { layers: readonly string[] }).layers
}

/** The value of an activation (1 for a plain pattern list). */
export function activationValue(activation: HookActivation | undefined): number {
  if (activation === undefined || Array.isArray(activation)) return 1
  return (activation as { value: number }).value
}

/**
 * Hooks with empty pattern lists dropped, kinds sorted, patterns deduplicated (first-seen order kept); an activation
 * whose value is 1 becomes its plain pattern list.
 */
export function normalizeHooks(hooks: HookActivations | undefined): HookActivations {
  const normalized: Record<string, HookActivation> = {}
  if (hooks === undefined) return Object.freeze(normalized)
  for (const kind of Object.keys(hooks).sort()) {
    const patterns = Object.freeze([...new Set(activationLayers(hooks[kind]))])
    const value = activationValue(hooks[kind])
    if (patterns.length > 0) normalized[kind] = value === 1 ? patterns : Object.freeze({ layers: patterns, value })
  }
  return Object.freeze(normalized)
}

/** A string equal for two branches exactly when their rows would be computed identically. */
export function contentKey(branch: BranchSpec): string {
  const hooks = normalizeHooks(branch.hooks)
  const canonical = Object.keys(hooks).map((kind) => [kind, [...activationLayers(hooks[kind])].sort(), activationValue(hooks[kind])])
  return `${branch.conditioning}|${JSON.stringify(canonical)}`
}

/** Content key of the plain unconditional branch. */
export const UNCOND_KEY = contentKey({ name: "uncond", conditioning: "uncond" })
/** Content key of the plain conditional branch. */
export const COND_KEY = contentKey({ name: "cond", conditioning: "cond" })

/** Short human description of a branch spec, for error messages. */
export function describeBranch(branch: BranchSpec): string {
  const hooks = normalizeHooks(branch.hooks)
  const parts = Object.keys(hooks).map((kind) => {
    const value = activationValue(hooks[kind])
    return `${kind}: [${activationLayers(hooks[kind]).join(", ")}]${value === 1 ? "" : ` = ${value}`}`
  })
  return `"${branch.name}" (${branch.conditioning}${parts.length > 0 ? `, ${parts.join("; ")}` : ", no hooks"})`
}
