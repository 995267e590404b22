import { describe, expect, it } from "vitest"
import { SafetensorsError, ShapeError, TensorError } from "./errors.js"
import { PagkitError, reviveError, serializeError } from "./pagkit-error.js"

class FolderError extends PagkitError<"FOLDER_MISSING"> {
  override readonly name = "FolderError"
  readonly path: string
  constructor(path: string, options?: { cause?: unknown }) {
    super("FOLDER_MISSING", `folder "${path}" does not exist.`, options)
    this.path = path
  }
}

describe("PagkitError", () => {
  it("gives every family the same shape: name, literal code, cause, instanceof the base", () => {
    const error = new ShapeError("bad", { cause: new RangeError("inner") })
    expect(error).toBeInstanceOf(TensorError)
    expect(error).toBeInstanceOf(PagkitError)
    expect(error).toMatchObject({ name: "ShapeError", code: "SHAPE_MISMATCH", message: "bad" })
    expect(error.cause).toBeInstanceOf(RangeError)
    const code: "SHAPE_MISMATCH" = error.code // literal type, checked by tsc
    expect(code).toBe("SHAPE_MISMATCH")
  })

  it("serializes to plain data (fields, cause chain) and revives as the same class without calling its constructor", () => {
    const original = new FolderError("/m", { cause: new SafetensorsError("SAFETENSORS_CORRUPT", "bad header") })
    const wire = structuredClone(serializeError(original))
    expect(wire).toMatchObject({ name: "FolderError", code: "FOLDER_MISSING", data: { path: "/m" }, cause: { name: "SafetensorsError", code: "SAFETENSORS_CORRUPT" } })
    expect(JSON.parse(JSON.stringify(original))).toMatchObject({ name: "FolderError", code: "FOLDER_MISSING" })
    const revived = reviveError(wire, [FolderError, SafetensorsError])
    expect(revived).toBeInstanceOf(FolderError)
    expect(revived).toMatchObject({ name: "FolderError", code: "FOLDER_MISSING", path: "/m", message: original.message, stack: original.stack })
    expect(revived.cause).toBeInstanceOf(SafetensorsError)
    // An unknown class falls back to a plain Error with the same name, or to what the caller makes of it.
    expect(reviveError(wire, [])).toMatchObject({ name: "FolderError", message: original.message })
    expect(reviveError(wire, [], (w) => new TypeError(w.message))).toBeInstanceOf(TypeError)
    expect(serializeError("boom")).toEqual({ name: "Error", message: "non-error thrown: boom" })
  })
})
