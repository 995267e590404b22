import type { HookKind } from "@pagkit/onnx"
import { PipelineError } from "../errors.js"
import { kindsByName, requireKind } from "./catalogues.js"

/** Loads a family's model again with another set of hook kinds installed in its denoiser graph (weights stay put). */
export type Rehook<M> = (model: M, kinds: readonly HookKind[]) => Promise<M>

/** Frees the denoiser session of a model that was replaced (its other sessions live on in the new model). */
export type ReleaseDenoiser<M> = (old: M) => Promise<void>

/**
 * Holds a loaded model and the hook kinds its denoiser graph has, shared by every pipeline made from one another
 * (`fromPipe`): when a run needs a kind the graph lacks, the host rewrites the graph once with it added (one new
 * session, cached on disk by the hook cache) and every sharing pipeline uses the new model from then on.
 */
export class ModelHost<M> {
  #model: M
  #kinds: readonly HookKind[]
  readonly #rehook: Rehook<M> | undefined
  readonly #release: ReleaseDenoiser<M> | undefined
  #pending: Promise<unknown> | undefined

  constructor(init: { readonly model: M; readonly kinds: readonly HookKind[]; readonly rehook?: Rehook<M>; readonly release?: ReleaseDenoiser<M> }) {
    this.#model = init.model
    this.#kinds = [...init.kinds]
    this.#rehook = init.rehook
    this.#release = init.release
  }

  /** The current model. */
  get model(): M {
    return this.#model
  }

  /** Hook kinds installed in the denoiser graph, in install order. */
  get kinds(): readonly HookKind[] {
    return this.#kinds
  }

  /** Replaces the model (e.g. after loading an IP-Adapter, whose kind becomes part of the graph). */
  replace(model: M, kinds: readonly HookKind[]): void {
    this.#model = model
    this.#kinds = [...kinds]
  }

  /**
   * Makes sure every named kind is installed, installing missing ones from `catalogue` (one rewrite for all of them).
   * `needer` names what asked, for the error when a kind is nowhere to be found.
   */
  async ensure(names: readonly string[], catalogue: ReadonlyMap<string, HookKind>, needer: (name: string) => string): Promise<M> {
    await this.#pending
    const installed = new Set(this.#kinds.map((k) => k.name))
    const missing = [...new Set(names)].filter((n) => !installed.has(n)).map((n) => requireKind(catalogue, n, needer(n)))
    if (missing.length === 0) return this.#model
    return this.setKinds([...kindsByName(this.#kinds, missing).values()])
  }

  /** Rewrites the denoiser graph with exactly these kinds (one new session; the old one is released). */
  async setKinds(kinds: readonly HookKind[]): Promise<M> {
    await this.#pending
    if (this.#rehook === undefined) {
      throw new PipelineError(
        "HOOK_NOT_INSTALLED",
        `hook kinds ${kinds.map((k) => `"${k.name}"`).join(", ")} cannot be installed: this model was built from ready sessions. Load it with fromPretrained(dir, { hooks }) instead.`,
      )
    }
    const old = this.#model
    const pending = this.#rehook(old, kinds)
    this.#pending = pending
    try {
      this.#model = await pending
      this.#kinds = [...kinds]
    } finally {
      this.#pending = undefined
    }
    await this.#release?.(old)
    return this.#model
  }
}
