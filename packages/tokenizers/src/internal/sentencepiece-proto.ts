/**
 * Minimal reader of SentencePiece's `ModelProto` (sentencepiece_model.proto): pieces with score and type,
 * the trainer fields pagkit needs, and the normalizer spec. Protobuf wire format decoded by hand.
 */

/** `SentencePiece.Type`: NORMAL 1, UNKNOWN 2, CONTROL 3, USER_DEFINED 4, UNUSED 5, BYTE 6. */
export type PieceType = 1 | 2 | 3 | 4 | 5 | 6

/** One vocabulary piece. */
export interface SentencePiece {
  piece: string
  score: number
  type: PieceType
}

/** The fields of a SentencePiece model that tokenization depends on. */
export interface SentencePieceModel {
  pieces: SentencePiece[]
  /** TrainerSpec.model_type: 1 UNIGRAM, 2 BPE, 3 WORD, 4 CHAR. */
  modelType: number
  unkId: number
  bosId: number
  eosId: number
  padId: number
  byteFallback: boolean
  normalizer: {
    name: string
    precompiledCharsmap: Uint8Array
    addDummyPrefix: boolean
    removeExtraWhitespaces: boolean
    escapeWhitespaces: boolean
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true })

class Reader {
  pos = 0
  constructor(readonly bytes: Uint8Array, readonly end = bytes.length) {}

  /** An unsigned varint as a BigInt (up to 64 bits). */
  varintBig(): bigint {
    let result = 0n
    let shift = 0n
    for (;;) {
      if (this.pos >= this.end) throw new Error("truncated varint")
      const b = this.bytes[this.pos++] as number
      result |= BigInt(b & 0x7f) << shift
      if ((b & 0x80) === 0) return BigInt.asUintN(64, result)
      shift += 7n
      if (shift > 63n) throw new Error("varint longer than 10 bytes")
    }
  }

  /** A varint that must fit a safe integer (lengths, keys, enums). */
  varint(): number {
    const value = this.varintBig()
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error("varint too large")
    return Number(value)
  }

  /** Bytes of a length-delimited field. */
  lengthDelimited(): Uint8Array {
    const length = this.varint()
    if (this.pos + length > this.end) throw new Error("length-delimited field runs past its message")
    const out = this.bytes.subarray(this.pos, this.pos + length)
    this.pos += length
    return out
  }

  float32(): number {
    if (this.pos + 4 > this.end) throw new Error("truncated fixed32")
    const view = new DataView(this.bytes.buffer, this.bytes.byteOffset + this.pos, 4)
    this.pos += 4
    return view.getFloat32(0, true)
  }

  skip(wireType: number): void {
    if (wireType === 0) this.varintBig()
    else if (wireType === 1) this.pos += 8
    else if (wireType === 2) this.lengthDelimited()
    else if (wireType === 5) this.pos += 4
    else throw new Error(`unsupported wire type ${wireType}`)
    if (this.pos > this.end) throw new Error("field runs past its message")
  }

  /** Iterate fields: calls `visit(fieldNumber, wireType)`; `visit` must consume the value or return false. */
  fields(visit: (field: number, wireType: number) => boolean): void {
    while (this.pos < this.end) {
      const key = this.varint()
      const field = Math.floor(key / 8)
      const wireType = key % 8
      if (!visit(field, wireType)) this.skip(wireType)
    }
  }
}

/** Signed int32 from a varint (negative values are sign-extended to 64 bits on the wire). */
function int32(value: bigint): number {
  return Number(BigInt.asIntN(32, value))
}

function readPiece(bytes: Uint8Array): SentencePiece {
  const r = new Reader(bytes)
  const piece: SentencePiece = { piece: "", score: 0, type: 1 }
  r.fields((field, wire) => {
    if (field === 1 && wire === 2) piece.piece = utf8.decode(r.lengthDelimited())
    else if (field === 2 && wire === 5) piece.score = r.float32()
    else if (field === 3 && wire === 0) piece.type = r.varint() as PieceType
    else return false
    return true
  })
  return piece
}

/** Parse a serialized `ModelProto` (the bytes of `spiece.model`). @throws Error on malformed input. */
export function parseSentencePieceModel(bytes: Uint8Array): SentencePieceModel {
  const model: SentencePieceModel = {
    pieces: [],
    modelType: 1,
    unkId: 0,
    bosId: 1,
    eosId: 2,
    padId: -1,
    byteFallback: false,
    normalizer: {
      name: "",
      precompiledCharsmap: new Uint8Array(0),
      addDummyPrefix: true,
      removeExtraWhitespaces: true,
      escapeWhitespaces: true,
    },
  }
  const r = new Reader(bytes)
  r.fields((field, wire) => {
    if (field === 1 && wire === 2) model.pieces.push(readPiece(r.lengthDelimited()))
    else if (field === 2 && wire === 2) readTrainerSpec(r.lengthDelimited(), model)
    else if (field === 3 && wire === 2) readNormalizerSpec(r.lengthDelimited(), model)
    else return false
    return true
  })
  if (model.pieces.length === 0) throw new Error("the model has no pieces (is this a SentencePiece .model file?)")
  return model
}

function readTrainerSpec(bytes: Uint8Array, model: SentencePieceModel): void {
  const r = new Reader(bytes)
  r.fields((field, wire) => {
    if (wire !== 0) return false
    const v = r.varintBig()
    if (field === 3) model.modelType = Number(v)
    else if (field === 35) model.byteFallback = v !== 0n
    else if (field === 40) model.unkId = int32(v)
    else if (field === 41) model.bosId = int32(v)
    else if (field === 42) model.eosId = int32(v)
    else if (field === 43) model.padId = int32(v)
    return true
  })
}

function readNormalizerSpec(bytes: Uint8Array, model: SentencePieceModel): void {
  const r = new Reader(bytes)
  const spec = model.normalizer
  r.fields((field, wire) => {
    if (field === 1 && wire === 2) spec.name = utf8.decode(r.lengthDelimited())
    else if (field === 2 && wire === 2) spec.precompiledCharsmap = r.lengthDelimited()
    else if (field === 3 && wire === 0) spec.addDummyPrefix = r.varint() !== 0
    else if (field === 4 && wire === 0) spec.removeExtraWhitespaces = r.varint() !== 0
    else if (field === 5 && wire === 0) spec.escapeWhitespaces = r.varint() !== 0
    else return false
    return true
  })
}
