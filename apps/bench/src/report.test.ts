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

describe("renderMarkdown on a busy machine", () => {
  it("warns when the load average exceeds half the cores, and only then", () => {
    expect(renderMarkdown(report)).not.toContain("machine was busy")
    const busy = renderMarkdown({ ...report, machine: { ...report.machine, loadAverage: 6.5 } })
    expect(busy).toContain("> The machine was busy (load average 6.5 on 2 cores)")
  })
})

describe("timeInterleaved", () => {
  it("warms up each variant, then alternates timed calls round by round, rotating the start", async () => {
    const calls: string[] = []
    const samples = await timeInterleaved(
      { a: async () => calls.push("a"), b: async () => calls.push("b"), c: async () => calls.push("c") },
      { warmup: 1, runs: 3 },
    )
    expect(calls.join("")).toBe("abc" + "abc" + "bca" + "cab")
    expect(samples.a.wall).toHaveLength(3)
    expect(samples.a.cpu).toHaveLength(3)
    expect(samples.b.wall.every((ms) => ms >= 0)).toBe(true)
  })
})
