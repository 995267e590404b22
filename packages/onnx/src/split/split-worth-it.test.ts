import { describe, expect, it } from "vitest"
import { InputError } from "../errors.js"
import { splitWorthIt } from "./split-worth-it.js"

describe("splitWorthIt", () => {
  it("splits when the rows that share the prefix save more than the overhead", () => {
    expect(splitWorthIt({ prefixFraction: 0.45, rows: 3 })).toBe("split") // [uncond, cond, perturbed]
    expect(splitWorthIt({ prefixFraction: 0.45, rows: 2 })).toBe("split") // [cond, perturbed]
    expect(splitWorthIt({ prefixFraction: 0.04, rows: 3 })).toBe("full")
    expect(splitWorthIt({ prefixFraction: 0.04, rows: 6, distinctRows: 4 })).toBe("split") // two images: 2 × 0.04 > 0.05
    expect(splitWorthIt({ prefixFraction: 0.45, rows: 3, distinctRows: 3 })).toBe("full")
    expect(splitWorthIt({ prefixFraction: 0.2, rows: 3, overheadRows: 0.25 })).toBe("full")
  })

  it("rejects fractions outside [0, 1] and impossible row counts", () => {
    expect(() => splitWorthIt({ prefixFraction: 1.5, rows: 3 })).toThrow(InputError)
    expect(() => splitWorthIt({ prefixFraction: 0.5, rows: 0 })).toThrow(/rows/)
    expect(() => splitWorthIt({ prefixFraction: 0.5, rows: 2, distinctRows: 3 })).toThrow(/distinctRows 3/)
  })
})
