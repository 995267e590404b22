/** Anything a loader creates that holds native memory: sessions, hooked models, VAEs, whole models. */
export interface Releasable {
  release?(): Promise<void> | void
}

function releaseOf(value: unknown): (() => Promise<void> | void) | undefined {
  if (typeof value !== "object" || value === null) return undefined
  const release = (value as Releasable).release
  return typeof release === "function" ? () => release.call(value) : undefined
}

/**
 * What a loader has created so far, so that a failing load frees it instead of leaking it. Loaders create
 * several sessions, some concurrently; {@link LoadScope.settle} waits for *every* one of them before reporting the
 * first failure (`Promise.all` would report while onnxruntime is still creating the others, and a worker thread
 * ended at that moment takes the process down with it), and whatever succeeded is released.
 *
 * @example
 * const model = await withLoadScope(async (scope) => {
 *   const [encoder, encoder2] = await scope.settle([createSession(a), createSession(b)])
 *   const unet = scope.own(await createSession(c))
 *   assertComponentKind(unet, "unet", "unet/") // a throw here releases encoder, encoder2 and unet
 *   return new Model({ encoder, encoder2, unet })
 * })
 */
export class LoadScope {
  readonly #owned: (() => Promise<void> | void)[] = []

  /** Takes `value` into the scope (when it has a `release()`), returning it unchanged. */
  own<T>(value: T): T {
    const release = releaseOf(value)
    if (release !== undefined) this.#owned.push(release)
    return value
  }

  /**
   * Awaits every promise, owns every value that resolved, and when any rejected throws the first rejection
   * (in the order given) after all of them settled.
   */
  async settle<const T extends readonly unknown[]>(promises: T): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> {
    const results = await Promise.allSettled(promises)
    for (const result of results) if (result.status === "fulfilled") this.own(result.value)
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected")
    if (failed !== undefined) throw failed.reason
    return results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as { -readonly [K in keyof T]: Awaited<T[K]> }
  }

  /** Releases everything owned, newest first; errors while releasing are ignored (the load already failed). */
  async releaseAll(): Promise<void> {
    const owned = this.#owned.splice(0).reverse()
    for (const release of owned) {
      try {
        await release()
      } catch {
        // keep releasing the others; the caller reports the load's own error
      }
    }
  }
}

/**
 * Runs a loader body with a {@link LoadScope}: when the body throws, everything it owned is released and the
 * error is rethrown; when it returns, ownership passes to the caller.
 */
export async function withLoadScope<T>(body: (scope: LoadScope) => Promise<T>): Promise<T> {
  const scope = new LoadScope()
  try {
    return await body(scope)
  } catch (error) {
    await scope.releaseAll()
    throw error
  }
}
