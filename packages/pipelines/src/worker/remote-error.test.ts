import { describe, expect, it } from "vitest"
import { ModelFolderError, ModelsError } from "@pagkit/models-core"
import { LayerPatternError, OnnxError } from "@pagkit/onnx"
import { InvalidSchedulerConfigError } from "@pagkit/schedulers"
import { PagkitError, ShapeError } from "@pagkit/tensor"
import { TokenizerInputError } from "@pagkit/tokenizers"
import { AbortedError, InvalidOptionError, NonFiniteError, PipelineError } from "../errors.js"
import { RemoteError, WorkerFailedError, reviveError, serializeError } from "./remote-error.js"

class PluginError extends Error {
  override readonly name = "PluginError"
  readonly code = "PLUGIN_FAILED"
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

  it("re-creates every pagkit package's errors as their own classes, fields and cause chain included (issue 16, item 7)", () => {
    const layer = revive(new LayerPatternError("middle_block", `layer pattern "middle_block" matches no layer`, { cause: new RangeError("inner") }))
    expect(layer).toBeInstanceOf(LayerPatternError)
    expect(layer).toBeInstanceOf(OnnxError)
    expect(layer).toBeInstanceOf(PagkitError)
    expect(layer).toMatchObject({ name: "LayerPatternError", code: "ONNX_LAYER_PATTERN", pattern: "middle_block", message: `layer pattern "middle_block" matches no layer` })
    expect(layer.cause).toMatchObject({ name: "RangeError", message: "inner" })
    const folder = revive(new ModelFolderError("/models/x", "model folder \"/models/x\" does not exist."))
    expect(folder).toBeInstanceOf(ModelFolderError)
    expect(folder).toBeInstanceOf(ModelsError)
    expect(folder).toMatchObject({ code: "MODEL_FOLDER_MISSING", path: "/models/x" })
    expect(revive(new InvalidSchedulerConfigError("beta_end must be in (0, 1)"))).toBeInstanceOf(InvalidSchedulerConfigError)
    expect(revive(new TokenizerInputError("prompt must be a string"))).toMatchObject({ code: "TOKENIZER_INVALID_INPUT" })
    expect(revive(new ShapeError("bad shape"))).toBeInstanceOf(ShapeError)
    expect(revive(new NonFiniteError("NaN after step 2", 1))).toMatchObject({ code: "NON_FINITE", step: 1 })
    expect(revive(new WorkerFailedError("gone"))).toBeInstanceOf(WorkerFailedError)
    // Every family error has code, name and message as own data, and crosses JSON as well as structuredClone.
    expect(JSON.parse(JSON.stringify(new ModelFolderError("/m", "missing")))).toMatchObject({ name: "ModelFolderError", code: "MODEL_FOLDER_MISSING", data: { path: "/m" } })
  })

  it("keeps name, code, message and the cause chain of errors of unknown classes", () => {
    const error = revive(new PluginError(`plugin failed`, { cause: new RangeError("inner") }))
    expect(error).toBeInstanceOf(RemoteError)
    expect(error).toBeInstanceOf(PagkitError)
    expect(error).toMatchObject({ name: "PluginError", code: "PLUGIN_FAILED", message: `plugin failed` })
    expect((error as RemoteError).remoteStack).toContain("PluginError")
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
