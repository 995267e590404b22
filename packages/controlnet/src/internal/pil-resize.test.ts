import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import { pilResize } from "./pil-resize.js"
import type { PilFilter } from "./pil-resize.js"

interface Reference {
  cases: { width: number; height: number; rgb: string; resized: { width: number; height: number; filter: PilFilter; rgb: string }[] }[]
}
const reference = JSON.parse(readFileSync(new URL("./pil-reference.json", import.meta.url), "utf8")) as Reference
const bytes = (b64: string) => new Uint8Array(Buffer.from(b64, "base64"))

describe("pilResize (ControlNet copy)", () => {
  it("matches Pillow's Image.resize bit for bit", () => {
    for (const c of reference.cases) {
      const image = { data: bytes(c.rgb), width: c.width, height: c.height, channels: 3 }
      for (const r of c.resized) {
        const out = pilResize(image, { width: r.width, height: r.height, filter: r.filter })
        expect(Buffer.from(out.data).equals(Buffer.from(bytes(r.rgb))), `${c.width}×${c.height} → ${r.width}×${r.height} ${r.filter}`).toBe(true)
      }
    }
  })
})
