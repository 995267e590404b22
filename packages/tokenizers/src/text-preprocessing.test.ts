import { describe, expect, it } from "vitest"
import { preprocessPixArtPrompt } from "./text-preprocessing.js"

describe("preprocessPixArtPrompt (Python text.lower().strip())", () => {
  it("lowercases with Unicode full mapping and the final-sigma rule", () => {
    expect(preprocessPixArtPrompt("A Photo of a CAT")).toBe("a photo of a cat")
    expect(preprocessPixArtPrompt("ΟΔΟΣ")).toBe("οδος")
    expect(preprocessPixArtPrompt("İ")).toBe("i\u0307")
  })

  it("strips Python's whitespace set at both ends only", () => {
    expect(preprocessPixArtPrompt(" \t\n a  b \u3000\u0085\u001f")).toBe("a  b")
    expect(preprocessPixArtPrompt("\ufeffa\ufeff")).toBe("\ufeffa\ufeff")
    expect(preprocessPixArtPrompt("   ")).toBe("")
  })
})
