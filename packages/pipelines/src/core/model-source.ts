// Where a model comes from: a local folder, or a Hugging Face model id downloaded into the shared cache (@pagkit/hub).
import { resolveModel } from "@pagkit/hub"
import type { HubProgressEvent } from "@pagkit/hub"

/** Options for model ids (`org/name`), as `from_pretrained` takes them; ignored for local folders. */
export interface HubLoadOptions {
  /** Branch, tag or commit (default `"main"`). */
  readonly revision?: string
  /** A folder inside the repository holding the pipeline. */
  readonly subfolder?: string
  /** The Hugging Face cache (default `HF_HUB_CACHE` or `HF_HOME/hub`, shared with Python). */
  readonly cacheDir?: string
  /** Access token (default `HF_TOKEN` or the saved login). */
  readonly token?: string
  /** Read only the cache (default `HF_HUB_OFFLINE`). */
  readonly offline?: boolean
  /** Download progress, file by file. */
  readonly onDownloadProgress?: (event: HubProgressEvent) => void
}

/** The option names of {@link HubLoadOptions}, to strip before passing load options on. */
export const hubOptionNames = ["revision", "subfolder", "cacheDir", "token", "offline", "onDownloadProgress"] as const

/**
 * A local folder for a folder path or a model id: ids download what a pipeline needs (ONNX graphs, external data,
 * configs, tokenizers; never pickles) into the Hugging Face cache; folders are checked for external data reached
 * through symlinks, which onnxruntime refuses.
 *
 * @example
 * const dir = await modelFolder("org/sdxl-onnx", { revision: "main" })
 */
export function modelFolder(idOrDir: string, options: HubLoadOptions = {}, extra: { readonly allowPatterns?: readonly string[] } = {}): Promise<string> {
  return resolveModel(idOrDir, {
    ...(options.revision === undefined ? {} : { revision: options.revision }),
    ...(options.subfolder === undefined ? {} : { subfolder: options.subfolder }),
    ...(options.cacheDir === undefined ? {} : { cacheDir: options.cacheDir }),
    ...(options.token === undefined ? {} : { token: options.token }),
    ...(options.offline === undefined ? {} : { offline: options.offline }),
    ...(options.onDownloadProgress === undefined ? {} : { onProgress: options.onDownloadProgress }),
    ...(extra.allowPatterns === undefined ? {} : { allowPatterns: extra.allowPatterns }),
  })
}

/** Load options without the hub ones. */
export function withoutHubOptions<T extends object>(options: T): Omit<T, (typeof hubOptionNames)[number]> {
  const rest: Record<string, unknown> = { ...(options as Record<string, unknown>) }
  for (const name of hubOptionNames) delete rest[name]
  return rest as Omit<T, (typeof hubOptionNames)[number]>
}
