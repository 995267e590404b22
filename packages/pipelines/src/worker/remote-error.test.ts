import { describe, expect, it } from "vitest"
import { AbortedError, InvalidOptionError, PipelineError } from "../errors.js"
import { RemoteError, reviveError, serializeError } from "./remote-error.js"

class LayerPatternError extends Error {
  override readonly name = "LayerPatternError"
  readonly code = "LAYER_PATTERN"
}

const revive = (error: unknown): Error => reviveError(structuredClone(serializeError(error)))

describe("errors across the thread boundary", () => {
  it("re-creates this package's errors as their own classes", () => {
    const aborted = revive(new AbortedError(2, 10))
    expect(aborted).toBeInstanceOf(AbortedError)
    expect(aborted).toMatchObject({ name: "AbortedError", code: "ABORTED", message: "the run was aborted after step 2 of 10." })
    const invalid = revive(new InvalidOptionError("strength must be <= 1, found 1.5."))
    expect(invalid).toBeInstanceOf(InvalidOptionError)
    expect(invalid.message).toBe("strength must be <= 1, found 1.5.")
    expect(revive(new PipelineError("NO_IMAGES", "latents only"))).toMatchObject({ name: "PipelineError", code: "NO_IMAGES" })
    expect(revive(new PipelineError("ABORTED", "the run was aborted before decoding."))).toBeInstanceOf(AbortedError)
  })

  it("keeps name, code, message and the cause chain of other packages' errors", () => {
    const error = revive(new LayerPatternError(`layer pattern "middle_block" matches no layer`, { cause: new RangeError("inner") }))
    expect(error).toBeInstanceOf(RemoteError)
    expect(error).toBeInstanceOf(PipelineError)
    expect(error).toMatchObject({ name: "LayerPatternError", code: "LAYER_PATTERN", message: `layer pattern "middle_block" matches no layer` })
    expect((error as RemoteError).remoteStack).toContain("LayerPatternError")
    expect(error.cause).toMatchObject({ name: "RangeError", message: "inner" })
  })

  it("leaves uncoded errors (bugs) uncoded, with the worker's stack", () => {
    const thrown = new TypeError("x is not a function")
    const error = revive(thrown)
    expect(error).not.toBeInstanceOf(PipelineError)
    expect((error as { code?: unknown }).code).toBeUndefined()
    expect(error).toMatchObject({ name: "TypeError", message: "x is not a function", stack: thrown.stack })
    expect(revive("boom").message).toMatch(/non-error thrown: boom/)
  })
})
