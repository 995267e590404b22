import { describe, expect, it } from "vitest"
import { parsePythonJson } from "./python-json.js"

describe("parsePythonJson", () => {
  it("revives NaN and infinities outside strings only", () => {
    const parsed = parsePythonJson('{"a": -Infinity, "b": [NaN, Infinity], "c": "NaN \\" -Infinity"}') as Record<string, unknown>
    expect(parsed["a"]).toBe(-Infinity)
    expect(parsed["b"]).toEqual([NaN, Infinity])
    expect(parsed["c"]).toBe('NaN " -Infinity')
  })

  it("leaves standard JSON as JSON.parse reads it", () => {
    const text = '{"x": [1, -2.5e-3, "Infinity", null, true], "y": {"NaN": "\\u0041"}}'
    expect(parsePythonJson(text)).toEqual(JSON.parse(text))
  })

  it("rejects malformed JSON", () => {
    expect(() => parsePythonJson("{oops}")).toThrow(SyntaxError)
    expect(() => parsePythonJson('{"a": Infinityx}')).toThrow(SyntaxError)
  })
})
