import { Tensor } from "@pagkit/tensor"
import type { HookKind, InstalledHook, LayerIndex } from "@pagkit/onnx"
import type { HookGateInput, HookableDenoiserOptions, TokenGrid } from "./denoiser.js"
import type { SessionLike } from "./session.js"

/** What `@pagkit/onnx`'s `loadHookedModel` returns (a `HookedModel`), structurally. */
export interface HookedModelLike {
  readonly session: SessionLike
  readonly index: LayerIndex
  readonly hooks: readonly InstalledHook[]
}

/** Gate inputs (`layout: "gates"`) of installed hooks, as {@link HookGateInput}s. */
export function gatesOfHooks(hooks: readonly InstalledHook[]): HookGateInput[] {
  const gates: HookGateInput[] = []
  for (const hook of hooks) {
    for (const input of hook.inputs) {
      if (input.layout === "gates") gates.push({ kind: hook.kind, inputName: input.name, layers: hook.layers })
    }
  }
  return gates
}

/**
 * Denoiser options from a hooked model: its session, installed hooks (with the kinds behind them, for kinds that
 * build their own control inputs), layer index, and zero defaults for per-layer `"scales"` inputs (hooks off unless a
 * call feeds them).
 *
 * @example
 * const hooked = await loadHookedModel("unet/model.onnx", { hooks: [identityAttention()] })
 * const unet = new HookableDenoiser(hookedDenoiserOptions(hooked))
 */
export function hookedDenoiserOptions(
  model: HookedModelLike,
  extras: { readonly kinds?: readonly HookKind[]; readonly tokenGrid?: TokenGrid } = {},
): Pick<HookableDenoiserOptions, "session" | "hooks" | "kinds" | "tokenGrid" | "layerIndex" | "defaultInputs"> & { session: SessionLike } {
  const defaultInputs: Record<string, Tensor> = {}
  for (const hook of model.hooks) {
    for (const input of hook.inputs) {
      if (input.layout === "scales") defaultInputs[input.name] = Tensor.zeros([hook.layers.length])
    }
  }
  return {
    session: model.session,
    hooks: model.hooks,
    ...(extras.kinds === undefined ? {} : { kinds: extras.kinds }),
    ...(extras.tokenGrid === undefined ? {} : { tokenGrid: extras.tokenGrid }),
    layerIndex: model.index,
    defaultInputs,
  }
}
