import { describe, expect, it } from "vitest"
import { Mt19937 } from "./mt19937.js"

describe("Mt19937", () => {
  it("matches the reference MT19937 stream (std::mt19937, seed 5489)", () => {
    const engine = new Mt19937(5489)
    expect([0, 1, 2, 3, 4].map(() => engine.nextU32())).toEqual([
      3499211612, 581869302, 3890346734, 3586334585, 545404204,
    ])
    for (let i = 5; i < 9999; i++) engine.nextU32()
    expect(engine.nextU32()).toBe(4123659995) // the C++ standard's 10000th output
  })

  it("seed 0 starts like numpy's RandomState(0)", () => {
    expect(new Mt19937(0).nextU32()).toBe(2357136044)
  })

  it("snapshot/restore replays the stream, across a twist", () => {
    const engine = new Mt19937(7)
    for (let i = 0; i < 620; i++) engine.nextU32()
    const state = engine.snapshot()
    const first = Array.from({ length: 10 }, () => engine.nextU32())
    engine.restore(state)
    expect(Array.from({ length: 10 }, () => engine.nextU32())).toEqual(first)
  })

  it("rejects a malformed state with a clear message", () => {
    const engine = new Mt19937(1)
    expect(() => engine.restore({ words: new Uint32Array(3), index: 0 })).toThrow(/624 words/)
  })
})
