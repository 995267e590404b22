// The plugin catalogues a pipeline is given: hook kinds it may install, guidance strategies it may build from JSON.
import { blockSkip, identityAttention, queryBlur } from "@pagkit/onnx"
import type { HookKind } from "@pagkit/onnx"
import type { GuidanceCatalogue } from "@pagkit/guidance"
import { apg } from "@pagkit/guidance-apg"
import type { ApgOptions } from "@pagkit/guidance-apg"
import { cfg } from "@pagkit/guidance-cfg"
import type { CfgOptions } from "@pagkit/guidance-cfg"
import { cfgZeroStar } from "@pagkit/guidance-cfg-zero-star"
import type { CfgZeroStarOptions } from "@pagkit/guidance-cfg-zero-star"
import { fdg } from "@pagkit/guidance-fdg"
import type { FdgOptions } from "@pagkit/guidance-fdg"
import { mambo } from "@pagkit/guidance-mambo"
import type { MamboOptions } from "@pagkit/guidance-mambo"
import { pag } from "@pagkit/guidance-pag"
import type { PagOptions } from "@pagkit/guidance-pag"
import { seg } from "@pagkit/guidance-seg"
import type { SegOptions } from "@pagkit/guidance-seg"
import { slg } from "@pagkit/guidance-slg"
import type { SlgOptions } from "@pagkit/guidance-slg"
import { tcfg } from "@pagkit/guidance-tcfg"
import type { TcfgOptions } from "@pagkit/guidance-tcfg"
import { PipelineError } from "../errors.js"

/** Hook kinds a pipeline may install on demand, when a guidance chain declares them (looked up by `kind.name`). */
export type HookCatalogue = readonly HookKind[]

/** The hook kinds pagkit ships: what pipelines install on demand unless given another catalogue. */
export function defaultHookKinds(): HookKind[] {
  return [identityAttention(), blockSkip(), queryBlur()]
}

/** The guidance strategies pagkit ships, by JSON id: what `guidanceFromJSON` builds unless given another catalogue. */
export const defaultGuidanceCatalogue: GuidanceCatalogue = Object.freeze({
  cfg: (options: Readonly<Record<string, unknown>>) => cfg(options as unknown as CfgOptions),
  pag: (options: Readonly<Record<string, unknown>>) => pag(options as unknown as PagOptions),
  seg: (options: Readonly<Record<string, unknown>>) => seg(options as unknown as SegOptions),
  slg: (options: Readonly<Record<string, unknown>>) => slg(options as unknown as SlgOptions),
  apg: (options: Readonly<Record<string, unknown>>) => apg(options as unknown as ApgOptions),
  "cfg-zero-star": (options: Readonly<Record<string, unknown>>) => cfgZeroStar(options as unknown as CfgZeroStarOptions),
  tcfg: (options: Readonly<Record<string, unknown>>) => tcfg(options as unknown as TcfgOptions),
  fdg: (options: Readonly<Record<string, unknown>>) => fdg(options as unknown as FdgOptions),
  mambo: (options: Readonly<Record<string, unknown>>) => mambo(options as unknown as MamboOptions),
})

/** Kinds by name; a later kind of the same name replaces an earlier one (user kinds over pagkit's). */
export function kindsByName(...catalogues: readonly (readonly HookKind[] | undefined)[]): Map<string, HookKind> {
  const byName = new Map<string, HookKind>()
  for (const catalogue of catalogues) for (const kind of catalogue ?? []) byName.set(kind.name, kind)
  return byName
}

/** The kind of a name from a catalogue, or an error naming what is available and what to do. */
export function requireKind(catalogue: ReadonlyMap<string, HookKind>, name: string, needer: string): HookKind {
  const kind = catalogue.get(name)
  if (kind === undefined) {
    throw new PipelineError(
      "HOOK_NOT_INSTALLED",
      `${needer} needs the "${name}" hook kind, which is neither installed on this model nor in its hook catalogue ` +
        `(catalogue: ${[...catalogue.keys()].join(", ") || "empty"}). Pass the kind in fromPretrained(dir, { hooks: [myKind()] }) ` +
        `or add it to { hookCatalogue }.`,
    )
  }
  return kind
}
