import { describe, expect, it } from "vitest"
import { parsePythonJson } from "./python-json.js"

describe("parsePythonJson", () => {
  it("revives NaN and infinities outside strings only", () => {
    const parsed = parsePythonJson('{"a": -Infinity, "b": [NaN, Infinity], "c": "NaN \\" -Infinity"}') as Record<string, unknown>
    expect(parsed["a"]).toBe(-Infinity)
    expect(parsed["b"]).toEqual([NaN, Infinity])
    expect(parsed["c"]).toBe('NaN " -Infinity')
  })
  it("rejects malformed json", () => {
    expect(() => parsePythonJson("{oops}")).toThrow()
  })
})
