import { describe, expect, it } from "vitest"
import { modelBytesHint } from "./model-file-hint.js"

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text)

describe("modelBytesHint", () => {
  it("recognises a Git LFS pointer and says what it stands for", () => {
    const pointer = "version https://git-lfs.github.com/spec/v1\noid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 9989657\n"
    expect(modelBytesHint(bytes(pointer), pointer.length)).toMatch(/Git LFS pointer \(\d+ bytes, oid 4d7a214614ab…, standing for 9989657 bytes\)[\s\S]*git lfs pull/)
  })

  it("recognises empty, text and tiny files, and says nothing about plausible protobuf bytes", () => {
    expect(modelBytesHint(new Uint8Array(0), 0)).toMatch(/empty \(0 bytes\)/)
    expect(modelBytesHint(bytes("<!DOCTYPE html><html>404</html>"), 31)).toMatch(/text file/)
    expect(modelBytesHint(new Uint8Array([8, 7, 0]), 3)).toMatch(/only 3 bytes/)
    const proto = new Uint8Array(256).map((_, i) => (i * 37) & 0xff)
    proto[0] = 0x08
    expect(modelBytesHint(proto, 1_000_000)).toBeUndefined()
  })
})
