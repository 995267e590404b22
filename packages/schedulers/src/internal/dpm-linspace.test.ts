import { describe, expect, it } from "vitest"
import { torchLinspaceF32Fma } from "./dpm-linspace.js"

describe("torchLinspaceF32Fma", () => {
  it("rounds end - step·k once, like torch (linspace(0, 1, 10)[6] is 0.6666667, not 0.6666666)", () => {
    const ramp = torchLinspaceF32Fma(0, 1, 10)
    expect(ramp[6]).toBe(Math.fround(2 / 3))
    expect(ramp[0]).toBe(0)
    expect(ramp[9]).toBe(1)
  })

  it("hits both ends and is increasing", () => {
    const values = torchLinspaceF32Fma(0.0001, 0.02, 1000)
    expect(values[0]).toBe(Math.fround(0.0001))
    expect(values[999]).toBe(Math.fround(0.02))
    for (let i = 1; i < values.length; i++) expect(values[i]!).toBeGreaterThan(values[i - 1]!)
  })
})
