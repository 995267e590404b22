import { describe, expect, it } from "vitest"
import { compileOnig, isWhitespace, onigToJsSource } from "./onig-regex.js"

describe("Oniguruma to JS regex translation", () => {
  it("gives \\s onig's Unicode White_Space set (U+0085 in, U+FEFF out)", () => {
    const ws = compileOnig("\\s+")
    expect("a\u0085b".replace(ws, " ")).toBe("a b")
    expect("a\ufeffb".replace(ws, " ")).toBe("a\ufeffb")
    expect("a\u3000\t\nb".replace(ws, " ")).toBe("a b")
    expect(isWhitespace(0x85)).toBe(true)
    expect(isWhitespace(0xfeff)).toBe(false)
  })

  it("translates classes, properties and identity escapes", () => {
    const clip = compileOnig("<\\|startoftext\\|>|'s|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+")
    expect("<|startoftext|>it's 42!!".match(clip)).toEqual(["<|startoftext|>", "it", "'s", "4", "2", "!!"])
    expect(compileOnig("\\'x").test("'x")).toBe(true)
    expect(compileOnig("\\p{^L}").test("1")).toBe(true)
    expect(compileOnig("[]a]").test("]")).toBe(true)
  })

  it("refuses constructs it cannot translate faithfully", () => {
    expect(() => onigToJsSource("[^\\S]")).toThrow(/\\S inside/)
    expect(() => onigToJsSource("\\G")).toThrow(/unsupported escape/)
    expect(() => onigToJsSource("abc\\")).toThrow(/lone backslash/)
  })
})
