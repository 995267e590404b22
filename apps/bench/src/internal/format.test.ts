import { describe, expect, it } from "vitest"
import { formatMiB, formatMs, formatPercent, formatRatio, formatSummary, markdownTable } from "./format.js"
import { summarize } from "./stats.js"

describe("number formats", () => {
  it("formats milliseconds with 3 significant digits, seconds from 1000 ms", () => {
    expect(formatMs(12.345)).toBe("12.3 ms")
    expect(formatMs(0.5)).toBe("0.500 ms")
    expect(formatMs(1234)).toBe("1.23 s")
    expect(formatMs(Number.NaN)).toBe("n/a")
  })

  it("formats a summary as median ±relative IQR", () => {
    expect(formatSummary(summarize([9, 10, 11, 12, 13]))).toBe("11.0 ms ±18 %")
  })

  it("formats MiB, ratios and percentages", () => {
    expect(formatMiB(3 * 2 ** 20)).toBe("3.0 MiB")
    expect(formatMiB(2 ** 19, true)).toBe("+0.5 MiB")
    expect(formatMiB(-(2 ** 19), true)).toBe("-0.5 MiB")
    expect(formatRatio(1.234)).toBe("1.23×")
    expect(formatRatio(Number.NaN)).toBe("n/a")
    expect(formatPercent(0.025)).toBe("+2.5 %")
    expect(formatPercent(-0.1)).toBe("-10.0 %")
  })
})

describe("markdownTable", () => {
  it("pads columns, left-aligns the first and right-aligns the rest", () => {
    const table = markdownTable({ headers: ["what", "ms"], rows: [["raw", "1.5"], ["pagkit", "12.25"]] })
    expect(table).toBe(
      ["| what   |    ms |", "|:-------|------:|", "| raw    |   1.5 |", "| pagkit | 12.25 |"].join("\n"),
    )
  })

  it("escapes pipes and newlines inside cells", () => {
    const table = markdownTable({ headers: ["a"], rows: [["x|y\nz"]] })
    expect(table.split("\n")[2]).toBe("| x\\|y z |")
  })

  it("refuses rows whose width differs from the headers", () => {
    expect(() => markdownTable({ headers: ["a", "b"], rows: [["only one"]] })).toThrow(/row 0 has 1 cells but there are 2 headers/)
  })
})
