// Runs examples/ip-adapter-pag.ts (the IP-Adapter example of diffusers' PAG guide, docs/guides/ip-adapter.md) on the
// tiny models, and checks the guide shows the script's code.
import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import { relativeL2 } from "@pagkit/tensor"
import { main, tinyExample } from "../../../examples/ip-adapter-pag.js"

describe("examples/ip-adapter-pag.ts", () => {
  it("runs the guide's SDXL + IP-Adapter Plus (.bin) example with PAG off and on", async () => {
    const { pagOff, pagOn } = await main(tinyExample())
    expect(pagOff.images!.shape).toEqual([1, 3, 64, 64])
    expect(pagOn.images!.shape).toEqual([1, 3, 64, 64])
    expect(relativeL2(pagOn.latents, pagOff.latents)).toBeGreaterThan(1e-3) // the perturbed row is there
  })

  it("is the code shown in docs/guides/ip-adapter.md", () => {
    const script = readFileSync(new URL("../../../examples/ip-adapter-pag.ts", import.meta.url), "utf8")
    const block = script.split("  // guide:start\n")[1]!.split("  // guide:end")[0]!
    const code = block.trimEnd().split("\n").map((l) => (l.startsWith("  ") ? l.slice(2) : l)).join("\n")
    const guide = readFileSync(new URL("../../../docs/guides/ip-adapter.md", import.meta.url), "utf8")
    expect(code.length).toBeGreaterThan(200)
    expect(guide).toContain(code)
  })
})
