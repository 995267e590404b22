import { describe, expect, it } from "vitest"
import { timeInterleaved } from "./internal/timing.js"
import { renderMarkdown } from "./report.js"
import type { Report } from "./report.js"

const report: Report = {
  machine: {
    cpu: "Test CPU",
    cores: 2,
    memoryGiB: 8,
    platform: "linux x64",
    node: "v20.0.0",
    onnxruntime: "1.30.0",
    loadAverage: 0.5,
    threads: "default",
    date: "2026-01-01T00:00:00.000Z",
  },
  sections: [
    { id: "a", title: "1. First", summary: "What it measures.", table: { headers: ["what", "time"], rows: [["raw", "1.00 ms ±0 %"]] }, data: {} },
  ],
  totalSeconds: 12.4,
}

describe("renderMarkdown", () => {
  it("prints the machine facts, then each section's title, summary and table", () => {
    const md = renderMarkdown(report)
    expect(md.startsWith("# pagkit bench\n")).toBe(true)
    expect(md).toContain("| CPU                           |                 Test CPU |")
    expect(md).toContain("| onnxruntime-node              |                   1.30.0 |")
    expect(md).toContain("| bench wall time               |                     12 s |")
    const section = md.slice(md.indexOf("## 1. First"))
    expect(section).toBe("## 1. First\n\nWhat it measures.\n\n| what |         time |\n|:-----|-------------:|\n| raw  | 1.00 ms ±0 % |\n")
  })
})

describe("timeInterleaved", () => {
  it("warms up each variant, then alternates timed calls round by round", async () => {
    const calls: string[] = []
    const samples = await timeInterleaved(
      { a: async () => calls.push("a"), b: async () => calls.push("b") },
      { warmup: 1, runs: 2 },
    )
    expect(calls).toEqual(["a", "b", "a", "b", "a", "b"])
    expect(samples.a).toHaveLength(2)
    expect(samples.b.every((ms) => ms >= 0)).toBe(true)
  })
})
