import { readdir } from "node:fs/promises"
import path from "node:path"
import { SplitSession, createSession, loadHookedModel, unetTokenGrid } from "@pagkit/onnx"
import type { HookKind, HookedModel, SessionOptions, TokenGrid } from "@pagkit/onnx"
import { loadClipTokenizer } from "@pagkit/tokenizers"
import {
  Vae,
  assertComponentKind,
  assertFolder,
  hookedDenoiserOptions,
  loadModelIndex,
  locateOnnxModel,
  readComponentConfig,
  readJsonFile,
  withLoadScope,
} from "@pagkit/models-core"
import type { HookableDenoiserOptions, LoadScope, ModelIndex, SessionLike } from "@pagkit/models-core"
import type { PromptTokenizer, TokenizerLoader } from "./prompt-tokenizer.js"
import { SdxlModel } from "./sdxl-model.js"
import { SdxlUnet } from "./sdxl-unet.js"

/**
 * A UNet to use instead of the folder's: a folder, or a ready (e.g. hooked) session with its gate inputs
 * (`hookedDenoiserOptions(await loadHookedModel(…))` fits).
 */
export type UnetOverride = string | Omit<HookableDenoiserOptions, "name">

/** Options of {@link loadSdxl}. */
export interface LoadSdxlOptions {
  /** onnxruntime execution providers, in preference order. Default `["cpu"]`. */
  readonly executionProviders?: readonly string[]
  /** Other session options (threads, optimization level); `executionProviders` wins over theirs. */
  readonly sessionOptions?: SessionOptions
  /**
   * Replace the UNet: a folder holding `model.onnx` (like `variants/unet-controlnet`, external data next to it)
   * or a pipeline folder with `unet/`; or a session already created (a hooked graph) with its gates.
   */
  readonly unet?: UnetOverride
  /** Loads `tokenizer/` and `tokenizer_2/`. Default: `@pagkit/tokenizers`' CLIP loader. */
  readonly loadTokenizer?: TokenizerLoader
  /** A VAE already loaded (shared with another model) instead of the folder's. */
  readonly vae?: Vae
  /** Load `vae_encoder/` (img2img, inpainting). Default: when the folder has one. */
  readonly vaeEncoder?: boolean
  /**
   * Hook kinds to install in the UNet graph at load (e.g. `[identityAttention()]` for PAG). One hooked session
   * then serves CFG-only and PAG runs alike (gates 0 = plain model). Default: none (plain graph).
   */
  readonly hooks?: readonly HookKind[]
  /** Folder caching rewritten (hooked) graphs between loads. */
  readonly hookCacheDir?: string
}

/** `@pagkit/tokenizers`' CLIP tokenizer, which has the {@link PromptTokenizer} shape. */
async function defaultTokenizerLoader(folder: string): Promise<PromptTokenizer> {
  return loadClipTokenizer(folder)
}

async function hasFolder(dir: string, name: string): Promise<boolean> {
  return readdir(path.join(dir, name)).then(
    () => true,
    () => false,
  )
}

async function loadComponent(dir: string, component: string, sessionOptions: SessionOptions): Promise<SessionLike> {
  const location = await locateOnnxModel(dir, component)
  return createSession(location.modelPath, sessionOptions)
}

async function loadUnet(
  dir: string,
  options: LoadSdxlOptions,
  sessionOptions: SessionOptions,
  scope: LoadScope,
): Promise<{ unet: SdxlUnet; config: Record<string, unknown> | undefined }> {
  const override = options.unet
  const baseConfig = await readComponentConfig(dir, "unet", { required: false })
  if (override !== undefined && typeof override !== "string") {
    assertComponentKind(override.session, "unet", "the UNet override")
    return { unet: new SdxlUnet(override), config: baseConfig }
  }
  let modelPath: string
  let config = baseConfig
  if (override === undefined) modelPath = (await locateOnnxModel(dir, "unet")).modelPath
  else {
    await assertFolder(override, "UNet folder")
    const nested = await hasFolder(override, "unet")
    modelPath = (await locateOnnxModel(override, nested ? "unet" : "")).modelPath
    const ownConfig = await readJsonFile(path.join(path.dirname(modelPath), "config.json"), { required: false })
    config = ownConfig ?? baseConfig
  }
  const where = override === undefined ? "unet/" : `UNet folder "${override}"`
  if (options.hooks !== undefined && options.hooks.length > 0) {
    const hooked = scope.own(
      await loadHookedModel(modelPath, {
        ...sessionOptions,
        hooks: options.hooks,
        ...(options.hookCacheDir === undefined ? {} : { cacheDir: options.hookCacheDir }),
      }),
    )
    assertComponentKind(hooked.session, "unet", where)
    const split = { source: modelPath, cacheDir: options.hookCacheDir, sessionOptions }
    return { unet: sdxlUnetFromHooked(hooked, { kinds: options.hooks, config, split }), config }
  }
  const session = scope.own(await createSession(modelPath, sessionOptions))
  assertComponentKind(session, "unet", where)
  return { unet: new SdxlUnet({ session }), config }
}

/**
 * An {@link SdxlUnet} over a hooked UNet graph: its hooks, the kinds behind them (for kinds that build their own
 * control inputs) and the token grids of its attention levels (from `down_block_types` in `config.json`, else the index).
 *
 * @example
 * const unet = sdxlUnetFromHooked(await loadHookedModel(path, { hooks }), { kinds: hooks, config })
 */
export function sdxlUnetFromHooked(
  hooked: HookedModel,
  options: {
    readonly kinds?: readonly HookKind[] | undefined
    readonly config?: Readonly<Record<string, unknown>> | undefined
    /** With the model file: the session can run PAG's perturbed rows on a split graph (`SplitSession`, execution "full" until a call asks). */
    readonly split?: { readonly source: string; readonly cacheDir?: string | undefined; readonly sessionOptions?: SessionOptions | undefined } | undefined
  } = {},
): SdxlUnet {
  const downBlocks = options.config?.["down_block_types"]
  const grid = Array.isArray(downBlocks) ? { down_block_types: downBlocks as readonly string[] } : hooked.index
  const tokenGrid = (sampleShape: readonly number[]): TokenGrid => unetTokenGrid(grid, sampleShape)
  const base = hookedDenoiserOptions(hooked, { ...(options.kinds === undefined ? {} : { kinds: options.kinds }), tokenGrid })
  const split = options.split
  const session =
    split === undefined || options.kinds === undefined
      ? base.session
      : new SplitSession(hooked, { source: split.source, hooks: options.kinds, execution: "full", cacheDir: split.cacheDir, sessionOptions: split.sessionOptions })
  return new SdxlUnet({ ...base, session })
}

/**
 * Loads an SDXL ONNX pipeline folder (Optimum / diffusers export): text encoders, tokenizers, UNet, VAE
 * encoder/decoder, configs. Every component is checked to be of the right kind.
 *
 * @example
 * const model = await loadSdxl("models/tiny-sdxl")
 * const controlModel = await loadSdxl("models/tiny-sdxl", { unet: "models/variants/unet-controlnet" })
 */
export async function loadSdxl(dir: string, options: LoadSdxlOptions = {}): Promise<SdxlModel> {
  const index: ModelIndex = await loadModelIndex(dir)
  const sessionOptions: SessionOptions = {
    ...(options.sessionOptions ?? {}),
    ...(options.executionProviders === undefined ? {} : { executionProviders: options.executionProviders }),
  }
  const loadTokenizer = options.loadTokenizer ?? defaultTokenizerLoader
  const schedulerConfig = (await readComponentConfig(dir, "scheduler"))!

  const hasTextEncoder = await hasFolder(dir, "text_encoder")
  // Every session started here settles before a failure is reported, and what loaded is released then.
  return withLoadScope(async (scope) => {
    const [textEncoder, textEncoder2, tokenizer, tokenizer2] = await scope.settle([
      hasTextEncoder ? loadComponent(dir, "text_encoder", sessionOptions) : Promise.resolve(undefined),
      loadComponent(dir, "text_encoder_2", sessionOptions),
      hasTextEncoder ? loadTokenizer(path.join(dir, "tokenizer")) : Promise.resolve(undefined),
      loadTokenizer(path.join(dir, "tokenizer_2")),
    ])
    if (textEncoder !== undefined) assertComponentKind(textEncoder, "text-encoder", "text_encoder/")
    assertComponentKind(textEncoder2, "text-encoder", "text_encoder_2/")

    const { unet, config: unetConfig } = await loadUnet(dir, options, sessionOptions, scope)
    const vae =
      options.vae ??
      scope.own(
        await Vae.load(dir, {
          sessionOptions,
          ...(options.vaeEncoder === undefined ? {} : { encoder: options.vaeEncoder }),
        }),
      )
    return new SdxlModel({
      dir,
      index,
      tokenizer,
      textEncoder,
      tokenizer2,
      textEncoder2,
      unet,
      vae,
      schedulerConfig,
      unetConfig,
    })
  })
}
