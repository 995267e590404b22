import { describe, expect, it } from "vitest"
import { parseSentencePieceModel } from "./sentencepiece-proto.js"

/** Minimal protobuf writer for the test. */
const varint = (value: bigint): number[] => {
  const out: number[] = []
  let v = BigInt.asUintN(64, value)
  do {
    let b = Number(v & 0x7fn)
    v >>= 7n
    if (v > 0n) b |= 0x80
    out.push(b)
  } while (v > 0n)
  return out
}
const key = (field: number, wire: number): number[] => varint(BigInt(field * 8 + wire))
const bytesField = (field: number, bytes: number[]): number[] => [...key(field, 2), ...varint(BigInt(bytes.length)), ...bytes]
const text = (s: string): number[] => Array.from(new TextEncoder().encode(s))
const float = (x: number): number[] => {
  const view = new DataView(new ArrayBuffer(4))
  view.setFloat32(0, x, true)
  return Array.from(new Uint8Array(view.buffer))
}
const piece = (p: string, score: number, type?: number): number[] =>
  bytesField(1, [...bytesField(1, text(p)), ...key(2, 5), ...float(score), ...(type === undefined ? [] : [...key(3, 0), ...varint(BigInt(type))])])

describe("parseSentencePieceModel", () => {
  it("reads pieces, trainer ids (negative too) and the normalizer spec, skipping unknown fields", () => {
    const proto = [
      ...piece("<unk>", 0, 2),
      ...piece("\u2581the", -3.25),
      ...bytesField(2, [...key(3, 0), 1, ...key(40, 0), ...varint(0n), ...key(41, 0), ...varint(-1n), ...key(42, 0), 1, ...key(43, 0), ...varint(-1n), ...bytesField(7, text("ignored"))]),
      ...bytesField(3, [...bytesField(1, text("nmt_nfkc")), ...bytesField(2, [9, 8, 7]), ...key(3, 0), 0, ...key(5, 0), 1]),
      ...bytesField(9, text("unknown top-level field")),
    ]
    const model = parseSentencePieceModel(new Uint8Array(proto))
    expect(model.pieces).toEqual([
      { piece: "<unk>", score: 0, type: 2 },
      { piece: "\u2581the", score: -3.25, type: 1 },
    ])
    expect(model).toMatchObject({ modelType: 1, unkId: 0, bosId: -1, eosId: 1, padId: -1, byteFallback: false })
    expect(model.normalizer).toMatchObject({ name: "nmt_nfkc", addDummyPrefix: false, removeExtraWhitespaces: true, escapeWhitespaces: true })
    expect(Array.from(model.normalizer.precompiledCharsmap)).toEqual([9, 8, 7])
  })

  it("rejects truncated or empty input", () => {
    const good = piece("a", -1)
    expect(() => parseSentencePieceModel(new Uint8Array(good.slice(0, good.length - 2)))).toThrow(/past its message|truncated/)
    expect(() => parseSentencePieceModel(new Uint8Array([]))).toThrow(/no pieces/)
    expect(() => parseSentencePieceModel(new Uint8Array([0x0b]))).toThrow(/wire type/)
  })
})
