import { describe, expect, it } from "vitest"
import { controlNetKeep, controlNetScalesAt, resolveControlNetSchedule } from "./conditioning-schedule.js"
import { ControlNetOptionsError } from "./errors.js"

describe("ControlNet conditioning schedule", () => {
  it("keeps steps inside [start, end] like diffusers' controlnet_keep", () => {
    // N = 5, window [0.2, 0.8]: i/N < 0.2 drops step 0, (i+1)/N > 0.8 drops step 4
    expect([0, 1, 2, 3, 4].map((i) => controlNetKeep(i, 5, 0.2, 0.8))).toEqual([0, 1, 1, 1, 0])
    expect([0, 1, 2, 3, 4].map((i) => controlNetKeep(i, 5, 0, 1))).toEqual([1, 1, 1, 1, 1])
    expect([0, 1, 2, 3].map((i) => controlNetKeep(i, 4, 0.5, 1))).toEqual([0, 0, 1, 1])
  })

  it("multiplies scale by keep, per ControlNet", () => {
    const schedule = resolveControlNetSchedule({ conditioningScale: [0.5, 2], guidanceStart: 0, guidanceEnd: [1, 0.4] }, 2)
    expect(controlNetScalesAt(schedule, 0, 5)).toEqual([0.5, 2])
    expect(controlNetScalesAt(schedule, 1, 5)).toEqual([0.5, 2])
    expect(controlNetScalesAt(schedule, 2, 5)).toEqual([0.5, 0])
  })

  it("expands scalars and takes a list's first entry for a single ControlNet", () => {
    expect(resolveControlNetSchedule({}, 2)).toEqual({ scales: [1, 1], starts: [0, 0], ends: [1, 1] })
    expect(resolveControlNetSchedule({ conditioningScale: [0.7, 0.1] }, 1).scales).toEqual([0.7])
  })

  it("rejects windows and lists that do not fit", () => {
    expect(() => resolveControlNetSchedule({ guidanceStart: 0.6, guidanceEnd: 0.5 }, 1)).toThrow(ControlNetOptionsError)
    expect(() => resolveControlNetSchedule({ guidanceStart: -0.1 }, 1)).toThrow(/smaller than 0/)
    expect(() => resolveControlNetSchedule({ guidanceEnd: 1.5 }, 1)).toThrow(/larger than 1/)
    expect(() => resolveControlNetSchedule({ conditioningScale: [1, 2, 3] }, 2)).toThrow(/3 entries for 2/)
    expect(() => resolveControlNetSchedule({}, 0)).toThrow(ControlNetOptionsError)
  })
})
