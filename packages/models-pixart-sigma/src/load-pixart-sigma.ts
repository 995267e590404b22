import path from "node:path"
import { SplitSession, createSession, identityAttention, loadHookedModel, patchTokenGrid } from "@pagkit/onnx"
import type { HookKind, SessionOptions } from "@pagkit/onnx"
import { loadT5Tokenizer } from "@pagkit/tokenizers"
import { Vae, assertComponentKind, hookedDenoiserOptions, loadModelIndex, locateOnnxModel, readComponentConfig, withLoadScope } from "@pagkit/models-core"
import type { ModelIndex } from "@pagkit/models-core"
import type { PixArtTokenizer } from "./encode-prompt.js"
import { PixArtModelError } from "./errors.js"
import { PixArtSigmaModel } from "./pixart-model.js"
import { IDENTITY_ATTENTION, PixArtTransformer } from "./pixart-transformer.js"
import { assertT5TextEncoder } from "./text-encoder.js"

/** Options of {@link loadPixArtSigma}. */
export interface LoadPixArtSigmaOptions {
  /** onnxruntime execution providers, in preference order. Default `["cpu"]`. */
  readonly executionProviders?: readonly string[]
  /** Other session options (threads, optimization level); `executionProviders` wins over theirs. */
  readonly sessionOptions?: SessionOptions
  /** Folder caching the hooked transformer graph between loads (default: rewrite in memory at every load). */
  readonly hookCacheDir?: string
  /** Loads `tokenizer/`. Default: `@pagkit/tokenizers`' T5 loader. */
  readonly loadTokenizer?: (folder: string) => Promise<PixArtTokenizer>
  /** Hook kinds to install in the transformer graph. Default: `[identityAttention()]` (PAG). */
  readonly hooks?: readonly HookKind[]
}

/** Options of {@link loadPixArtTransformer}. */
export interface LoadPixArtTransformerOptions extends SessionOptions {
  /** Hook kinds to install (each once). */
  readonly hooks: readonly HookKind[]
  /** `transformer/config.json`. */
  readonly config?: Readonly<Record<string, unknown>> | undefined
  /** Folder caching hooked graphs between loads. */
  readonly cacheDir?: string | undefined
}

/**
 * Loads a PixArt transformer `model.onnx` with hook kinds installed: the denoiser knows its layer index, its kinds
 * (for kinds with their own control inputs) and its token grid (patches), so every target type resolves.
 *
 * @example
 * const transformer = await loadPixArtTransformer("tiny-pixart-sigma/transformer/model.onnx", { hooks: [identityAttention()] })
 */
export async function loadPixArtTransformer(modelPath: string, options: LoadPixArtTransformerOptions): Promise<PixArtTransformer> {
  const { hooks, config, cacheDir, ...sessionOptions } = options
  const hooked = await loadHookedModel(modelPath, { ...sessionOptions, hooks, ...(cacheDir === undefined ? {} : { cacheDir }) })
  try {
    assertComponentKind(hooked.session, "transformer", "transformer/")
    const patchSize = typeof config?.["patch_size"] === "number" ? config["patch_size"] : 2
    const base = hookedDenoiserOptions(hooked, { kinds: hooks, tokenGrid: (shape) => patchTokenGrid(patchSize, shape) })
    // PAG's perturbed rows can run on a split graph when a call asks (execution "split" | "auto"); "full" by default
    const session = new SplitSession(hooked, { source: modelPath, hooks, execution: "full", cacheDir, sessionOptions })
    return new PixArtTransformer({ ...base, session, config })
  } catch (error) {
    await hooked.release()
    throw error
  }
}

/**
 * Loads a PixArt-Sigma ONNX folder: T5 `tokenizer/` and `text_encoder/` (with `attention_mask`), `transformer/`
 * with PAG's identity-attention hook installed over all its self-attention layers (one graph input
 * `pag_gates [batch, layers]`, so PAG layers change per call without reloading), `vae_decoder/`, configs.
 *
 * @example
 * const model = await loadPixArtSigma("models/tiny-pixart-sigma")
 * model.transformer.selfAttentionLayers.length // 12
 */
export async function loadPixArtSigma(dir: string, options: LoadPixArtSigmaOptions = {}): Promise<PixArtSigmaModel> {
  const index = await loadModelIndex(dir)
  const sessionOptions: SessionOptions = {
    ...(options.sessionOptions ?? {}),
    ...(options.executionProviders === undefined ? {} : { executionProviders: options.executionProviders }),
  }
  // Python's bare -Infinity (lambda_min_clipped) is read by models-core's parser.
  const schedulerConfig = (await readComponentConfig(dir, "scheduler"))!
  const transformerConfig = await readComponentConfig(dir, "transformer", { required: false })
  const loadTokenizer = options.loadTokenizer ?? ((folder: string) => loadT5Tokenizer(folder))

  assertPixArtFolder(index)
  const [tokenizer, textEncoderLocation, transformerLocation] = await Promise.all([
    loadTokenizer(path.join(dir, "tokenizer")),
    locateOnnxModel(dir, "text_encoder"),
    locateOnnxModel(dir, "transformer"),
  ])
  // A failure after a session was created releases it (and reports only once nothing is being created).
  return withLoadScope(async (scope) => {
    const textEncoder = scope.own(await createSession(textEncoderLocation.modelPath, sessionOptions))
    assertComponentKind(textEncoder, "text-encoder", "text_encoder/")
    assertT5TextEncoder(textEncoder)

    const hooks = options.hooks ?? [identityAttention()]
    const transformer = await loadPixArtTransformer(transformerLocation.modelPath, {
      ...sessionOptions,
      hooks,
      config: transformerConfig,
      cacheDir: options.hookCacheDir,
    })
    scope.own(transformer.session)
    if (hooks.some((k) => k.name === IDENTITY_ATTENTION) && transformer.selfAttentionLayers.length === 0) {
      throw new PixArtModelError(`transformer/ (${transformerLocation.modelPath}) has no self-attention layers for PAG to hook.`)
    }
    const vae = scope.own(await Vae.load(dir, { sessionOptions, encoder: false }))
    return new PixArtSigmaModel({
      dir,
      index,
      tokenizer,
      textEncoder,
      transformer,
      vae,
      schedulerConfig,
      transformerPath: transformerLocation.modelPath,
      release: async (model) => {
        await Promise.all([textEncoder.release(), model.transformer.session.release?.()])
      },
    })
  })
}

/**
 * A folder of another family (an SDXL export has `unet/` and two text encoders, no `transformer/`) is named as
 * such before anything loads, instead of failing on a missing `transformer/`.
 */
function assertPixArtFolder(index: ModelIndex): void {
  const className = index.className ?? ""
  const components = Object.keys(index.components)
  const isPixArt = /PixArt/i.test(className) || components.includes("transformer")
  if (isPixArt) return
  const family = /StableDiffusionXL/i.test(className) || components.includes("text_encoder_2")
    ? "Stable Diffusion XL"
    : components.includes("unet")
      ? "a UNet pipeline (Stable Diffusion family)"
      : "not a PixArt-Sigma pipeline"
  throw new PixArtModelError(
    `"${index.dir}" is ${family.startsWith("Stable") ? `a ${family}` : family} folder (model_index.json: _class_name ${JSON.stringify(index.className ?? null)}, components ${components.join(", ") || "none"}), not PixArt-Sigma: expected a transformer/ component and a T5 text_encoder/. Load it with the SDXL pipelines (AutoPipelineForText2Image.fromPretrained), or pass a PixArt-Sigma export.`,
  )
}
