import { describe, expect, it } from "vitest"
import { Tensor } from "@pagkit/tensor"
import { guidance } from "./chain.js"
import { GuidanceOptionsError } from "./errors.js"
import { checkOptionNames, didYouMean, guidanceFromJSON } from "./json.js"
import type { GuidanceCatalogue } from "./json.js"
import type { GuidanceMiddleware, MiddlewareJSON } from "./types.js"

/** A middleware written the way a plugin author would: options validated, `toJSON` gives them back. */
function nudge(options: Readonly<Record<string, unknown>>): GuidanceMiddleware {
  checkOptionNames("nudge()", options, ["amount", "name"])
  const amount = options["amount"]
  if (typeof amount !== "number") throw new GuidanceOptionsError(`nudge(): amount must be a number, found ${JSON.stringify(amount)}.`)
  const name = typeof options["name"] === "string" ? options["name"] : "nudge"
  return {
    name,
    branches: () => [],
    combine: (prev, preds) => {
      const base = prev ?? preds.get("cond")
      return new Tensor("float32", Float32Array.from(base.data as Float32Array, (x) => x + amount), base.shape)
    },
    toJSON: (): MiddlewareJSON => ({ name: "nudge", ...(name === "nudge" ? {} : { as: name }), amount }),
  }
}

const catalogue: GuidanceCatalogue = { nudge }

describe("guidance JSON", () => {
  it("round-trips a chain through JSON text", () => {
    const chain = guidance(nudge({ amount: 1 }), nudge({ amount: 2, name: "second" }))
    const text = JSON.stringify(chain.toJSON())
    expect(JSON.parse(text)).toEqual({ guidance: [{ name: "nudge", amount: 1 }, { name: "nudge", as: "second", amount: 2 }] })
    const back = guidanceFromJSON(JSON.parse(text), catalogue)
    expect(back.middlewares.map((m) => m.name)).toEqual(["nudge", "second"])
    expect(back.toJSON()).toEqual(chain.toJSON())
  })
  it("accepts the bare list", () => {
    expect(guidanceFromJSON([{ name: "nudge", amount: 3 }], catalogue).middlewares).toHaveLength(1)
  })
  it("names the entry and the problem", () => {
    expect(() => guidanceFromJSON({ guidance: [{ name: "nudg", amount: 1 }] }, catalogue)).toThrow(/entry 0: unknown strategy "nudg" \(did you mean "nudge"\?\); known: nudge/)
    expect(() => guidanceFromJSON({ guidance: [{ name: "nudge", amount: "x" }] }, catalogue)).toThrow(/entry 0 \("nudge"\): nudge\(\): amount must be a number/)
    expect(() => guidanceFromJSON({ guidance: [{ name: "nudge", amount: 1, amout: 2 }] }, catalogue)).toThrow(/unknown option "amout" \(did you mean "amount"\?\)/)
    expect(() => guidanceFromJSON({ steps: [] }, catalogue)).toThrow(GuidanceOptionsError)
    expect(() => guidanceFromJSON({ guidance: [{ amount: 1 }] }, catalogue)).toThrow(/expected an object with a "name"/)
    expect(() => guidanceFromJSON({ guidance: [{ name: "toString" }] }, catalogue)).toThrow(/unknown strategy "toString"/)
  })
  it("refuses a chain with a middleware that cannot be serialized", () => {
    const bare: GuidanceMiddleware = { name: "bare", branches: () => [], combine: (prev) => prev }
    expect(() => guidance(bare).toJSON()).toThrow(/middleware "bare" has no toJSON/)
  })
  it("suggests camelCase for diffusers' snake_case names", () => {
    expect(didYouMean("guidance_rescale", ["guidanceRescale", "scale"])).toBe("guidanceRescale")
    expect(didYouMean("zzzzzz", ["scale"])).toBeUndefined()
  })
})
