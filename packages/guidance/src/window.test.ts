import { describe, expect, it } from "vitest"
import { GuidanceOptionsError } from "./errors.js"
import { fullWindow, isInWindow, validateScale, validateWindow } from "./window.js"

const stepsIn = (window: readonly [number, number], numSteps: number): number[] =>
  Array.from({ length: numSteps }, (_, i) => i).filter((stepIndex) => isInWindow(window, { stepIndex, numSteps, timestep: 0 }))

describe("isInWindow", () => {
  it("follows diffusers' int(start·N) <= i < int(end·N)", () => {
    expect(stepsIn([0, 1], 5)).toEqual([0, 1, 2, 3, 4])
    expect(stepsIn([0, 0.5], 5)).toEqual([0, 1]) // int(2.5) = 2
    expect(stepsIn([0.2, 0.8], 10)).toEqual([2, 3, 4, 5, 6, 7])
    expect(stepsIn([0.29, 1], 100)[0]).toBe(28) // 0.29·100 = 28.999… in binary, as in Python
    expect(stepsIn([0, 0.1], 5)).toEqual([])
  })
})

describe("validateWindow / validateScale", () => {
  it("accepts good values and defaults", () => {
    expect(validateWindow(undefined, "w")).toBe(fullWindow)
    expect(validateWindow([0.25, 0.75], "w")).toEqual([0.25, 0.75])
    expect(validateScale(undefined, "s", 3)).toBe(3)
    expect(validateScale(0, "s", 3)).toBe(0)
  })

  it("rejects windows outside [0, 1], empty or malformed", () => {
    for (const bad of [[-0.1, 0.5], [0, 1.5], [0.5, 0.5], [0.8, 0.2], [0, Number.NaN], [0.1], "0,1"]) {
      expect(() => validateWindow(bad as unknown as readonly [number, number], "cfg() window")).toThrow(GuidanceOptionsError)
    }
    expect(() => validateWindow([0.6, 0.4], "cfg() window")).toThrow(/empty/)
  })

  it("rejects negative or non-finite scales, naming the option", () => {
    expect(() => validateScale(-1, "pag() scale", 0)).toThrow(/pag\(\) scale/)
    expect(() => validateScale(Number.POSITIVE_INFINITY, "s", 0)).toThrow(GuidanceOptionsError)
    expect(() => validateScale("2" as unknown as number, "s", 0)).toThrow(GuidanceOptionsError)
  })
})
