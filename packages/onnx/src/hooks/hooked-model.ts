import { Tensor } from "@pagkit/tensor"
import { HookError } from "../errors.js"
import type { LayerIndex } from "../layers/layer-index.js"
import type { ModelSession } from "../session/model-session.js"
import { controlFeeds } from "./control-feeds.js"
import type { InstalledHook } from "./hook-kind.js"

function offTensor(shape: readonly number[], value: number): Tensor<"float32"> {
  const t = Tensor.zeros([...shape])
  if (value !== 0) t.data.fill(value)
  return t
}

/**
 * A session over a hooked graph, with the layer index and the hooks installed. Its control inputs are
 * filled with zeros (hooks off) when a run does not feed them.
 */
export class HookedModel {
  readonly session: ModelSession
  readonly index: LayerIndex
  readonly hooks: readonly InstalledHook[]

  constructor(session: ModelSession, index: LayerIndex, hooks: readonly InstalledHook[]) {
    this.session = session
    this.index = index
    this.hooks = hooks
  }

  /** The installed hook of a kind, or a {@link HookError} naming the kinds that are installed. */
  hook(kind: string): InstalledHook {
    const found = this.hooks.find((h) => h.kind === kind)
    if (found === undefined) {
      throw new HookError(
        `hook kind "${kind}" is not installed on this model; installed: ${this.hooks.map((h) => h.kind).join(", ") || "none"}. Pass it in loadHookedModel's hooks.`,
      )
    }
    return found
  }

  /** Module paths of a kind's control columns, in order. */
  layers(kind: string): readonly string[] {
    return this.hook(kind).layers
  }

  /**
   * Gate tensor `[rows.length, layers]` (float32) for a `"gates"` kind: row `b` is 1 on the layers in
   * `rows[b]` and 0 elsewhere. Unknown layer paths are errors.
   *
   * @example
   * model.gates("identity-attention", [[], [], perturbedLayers]) // [uncond, cond, perturbed]
   */
  gates(kind: string, rows: ReadonlyArray<readonly string[]>): Tensor<"float32"> {
    const hook = this.hook(kind)
    const gates = hook.inputs.find((input) => input.layout === "gates")
    if (gates === undefined) throw new HookError(`hook kind "${kind}" has no "gates" input; build its feeds with controlFeeds.`)
    return controlFeeds(hook, rows.map((layers) => ({ layers })))[gates.name] as Tensor<"float32">
  }

  /**
   * Runs the model; control inputs not in `feeds` are fed as zeros (all hooks off) for the batch size of
   * the first fed tensor that shares the control input's batch dimension. `"custom"` inputs must be fed.
   */
  async run(feeds: Readonly<Record<string, Tensor>>, outputNames?: readonly string[]): Promise<Record<string, Tensor>> {
    const complete: Record<string, Tensor> = { ...feeds }
    for (const hook of this.hooks) {
      for (const control of hook.inputs) {
        if (complete[control.name] !== undefined) continue
        if (control.layout === "custom") {
          throw new HookError(
            `control input "${control.name}" of hook "${hook.kind}" was not fed, and its shape depends on the call. Feed the kind's inputs with hookFeeds(kind, model.hook("${hook.kind}"), rows, context) (rows may all be off).`,
          )
        }
        const width = hook.layers.length
        complete[control.name] =
          control.layout === "scales"
            ? Tensor.zeros([width])
            : offTensor([this.#batchOf(feeds, control.name), width], control.offValue ?? 0)
      }
    }
    return this.session.run(complete, outputNames)
  }

  /** Frees the session. */
  release(): Promise<void> {
    return this.session.release()
  }

  #batchOf(feeds: Readonly<Record<string, Tensor>>, control: string): number {
    const batchDim = this.session.input(control)?.shape[0]
    for (const info of this.session.inputs) {
      const fed = feeds[info.name]
      if (fed !== undefined && info.shape[0] === batchDim && fed.rank > 0) return fed.shape[0]!
    }
    throw new HookError(
      `cannot tell the batch size for "${control}": no fed input shares its batch dimension "${String(batchDim)}". Feed "${control}" explicitly.`,
    )
  }
}
