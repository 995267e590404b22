import path from "node:path"
import { pathToFileURL } from "node:url"
import type { GuidanceCatalogue } from "@pagkit/guidance"
import type { HookKind } from "@pagkit/onnx"
import type { FamilyTable } from "../core/family.js"
import { PipelineError } from "../errors.js"

/** What a worker plugins module may export (see `WorkerPipelineSpec.plugins`). */
export interface WorkerPlugins {
  readonly hookKinds?: readonly HookKind[]
  readonly guidance?: GuidanceCatalogue
  readonly families?: FamilyTable
}

/** Imports a plugins module once per specifier; checks the shape of what it exports. */
export function pluginLoader(): (specifier: string | undefined) => Promise<WorkerPlugins> {
  const loaded = new Map<string, Promise<WorkerPlugins>>()
  return (specifier) => {
    if (specifier === undefined) return Promise.resolve({})
    let entry = loaded.get(specifier)
    if (entry === undefined) {
      entry = importPlugins(specifier)
      loaded.set(specifier, entry)
    }
    return entry
  }
}

async function importPlugins(specifier: string): Promise<WorkerPlugins> {
  const url = path.isAbsolute(specifier) ? pathToFileURL(specifier).href : specifier
  let module: Record<string, unknown>
  try {
    module = (await import(url)) as Record<string, unknown>
  } catch (error) {
    throw new PipelineError("PLUGINS_NOT_LOADED", `the worker could not import plugins module "${specifier}": ${(error as Error).message}. Pass an absolute path or an installed package name.`, { cause: error })
  }
  const { hookKinds, guidance, families } = module
  if (hookKinds !== undefined && !Array.isArray(hookKinds)) throw new PipelineError("PLUGINS_NOT_LOADED", `plugins module "${specifier}": "hookKinds" must be an array of hook kinds.`)
  if (guidance !== undefined && (typeof guidance !== "object" || guidance === null)) {
    throw new PipelineError("PLUGINS_NOT_LOADED", `plugins module "${specifier}": "guidance" must be an object of middleware factories by id.`)
  }
  if (families !== undefined && !Array.isArray(families)) throw new PipelineError("PLUGINS_NOT_LOADED", `plugins module "${specifier}": "families" must be an array of families.`)
  return {
    ...(hookKinds === undefined ? {} : { hookKinds: hookKinds as HookKind[] }),
    ...(guidance === undefined ? {} : { guidance: guidance as GuidanceCatalogue }),
    ...(families === undefined ? {} : { families: families as FamilyTable }),
  }
}
