import { describe, expect, it } from "vitest"
import { LoadScope, withLoadScope } from "./load-scope.js"

function releasable(name: string, log: string[]): { name: string; release: () => Promise<void> } {
  return { name, release: async () => void log.push(`release ${name}`) }
}

describe("LoadScope", () => {
  it("settle waits for every promise, releases what loaded and throws the first failure", async () => {
    const log: string[] = []
    const scope = new LoadScope()
    const slow = new Promise((resolve) => setTimeout(() => (log.push("slow loaded"), resolve(releasable("slow", log))), 30))
    const failed = Promise.reject(new Error("first"))
    const failedLater = new Promise((_, reject) => setTimeout(() => reject(new Error("second")), 10))
    await expect(withLoadScope(async (s) => s.settle([failed, slow, failedLater, Promise.resolve(releasable("fast", log))]))).rejects.toThrow("first")
    // The failure was reported only after the slow load finished, and both loaded values were released.
    expect(log).toEqual(["slow loaded", "release fast", "release slow"])
    expect(await scope.settle([Promise.resolve(1), Promise.resolve("a")])).toEqual([1, "a"])
  })

  it("releases owned values newest first when the body throws, and keeps them when it returns", async () => {
    const log: string[] = []
    await expect(
      withLoadScope(async (scope) => {
        scope.own(releasable("a", log))
        scope.own(releasable("b", log))
        scope.own({ noRelease: true })
        throw new Error("kind mismatch")
      }),
    ).rejects.toThrow("kind mismatch")
    expect(log).toEqual(["release b", "release a"])
    const kept = await withLoadScope(async (scope) => scope.own(releasable("c", log)))
    expect(kept.name).toBe("c")
    expect(log).toEqual(["release b", "release a"])
  })

  it("keeps releasing when one release throws", async () => {
    const log: string[] = []
    await expect(
      withLoadScope(async (scope) => {
        scope.own(releasable("a", log))
        scope.own({ release: () => Promise.reject(new Error("release failed")) })
        throw new Error("load failed")
      }),
    ).rejects.toThrow("load failed")
    expect(log).toEqual(["release a"])
  })
})
