import { describe, expect, it } from "vitest"
import { parseSeeds } from "./seeds.js"

describe("parseSeeds", () => {
  it("reads ranges and lists in order", () => {
    expect(parseSeeds("0-3")).toEqual([0, 1, 2, 3])
    expect(parseSeeds("1,5,9")).toEqual([1, 5, 9])
    expect(parseSeeds("7, 0-1 ,42")).toEqual([7, 0, 1, 42])
    expect(parseSeeds("5")).toEqual([5])
  })
  it.each([
    ["3-1", /runs backwards/],
    ["1,,2", /empty entry/],
    ["a", /whole numbers/],
    ["-1", /whole numbers/],
    ["1.5", /whole numbers/],
    ["0-2,2", /appears twice/],
    ["0-5000", /more than 1000/],
  ])("rejects %s", (text, message) => {
    expect(() => parseSeeds(text)).toThrow(message)
  })
})
