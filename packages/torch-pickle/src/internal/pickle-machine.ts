// A pickle virtual machine that only builds data (protocols 0–5 as torch writes them; torch.save uses 2).
// Modelled on CPython `Lib/pickle.py` `_Unpickler` and torch `_weights_only_unpickler.py` `Unpickler`: every
// GLOBAL / STACK_GLOBAL / INST is resolved through the given {@link PickleTable}, which refuses anything not on its
// allow-list, and REDUCE / NEWOBJ / BUILD / BINPERSID go through the same table. Nothing is ever looked up by name
// in the JS runtime, imported or evaluated: the table maps a fixed set of names to plain data constructors.
import { TorchPickleError } from "../errors.js"

/** Marker for a name a GLOBAL resolved to (the only "callables" that can reach REDUCE). */
export class PickleGlobal {
  constructor(readonly module: string, readonly name: string) {}
  get fullName(): string {
    return `${this.module}.${this.name}`
  }
}

/** What the machine asks of its caller: the allow-list and how allowed callables build data. */
export interface PickleTable {
  /** Resolves `module.name`; throws when not allowed. */
  global(module: string, name: string): PickleGlobal
  /** REDUCE: `callable(*args)`. */
  reduce(callable: unknown, args: readonly unknown[]): unknown
  /** NEWOBJ: `cls.__new__(cls, *args)`. */
  newObject(cls: unknown, args: readonly unknown[]): unknown
  /** BUILD: `inst.__setstate__(state)`; returns the (possibly replaced) instance. */
  build(instance: unknown, state: unknown): unknown
  /** BINPERSID / PERSID. */
  persistentLoad(pid: unknown): unknown
}

const tuples = new WeakSet<object>()

/** A Python tuple: a frozen array, marked so lists and tuples stay distinct. */
export function makeTuple(items: unknown[]): readonly unknown[] {
  tuples.add(items)
  return Object.freeze(items)
}

/** True for arrays made by {@link makeTuple}. */
export function isTuple(value: unknown): value is readonly unknown[] {
  return Array.isArray(value) && tuples.has(value)
}

/** A Python list. */
function isList(value: unknown): value is unknown[] {
  return Array.isArray(value) && !tuples.has(value)
}

/** Python dict keys this reader keeps (hashable primitives). */
export type PickleKey = string | number | bigint | boolean | null

function isKey(value: unknown): value is PickleKey {
  return value === null || typeof value === "string" || typeof value === "number" || typeof value === "bigint" || typeof value === "boolean"
}

/** The stream ended before STOP: malformed, unless more bytes can be given (several pickles in one file). */
export class PickleTruncatedError extends TorchPickleError {
  constructor(message: string) {
    super("TORCH_PICKLE_MALFORMED", message)
  }
}

/** Runs a pickle stream and returns the object STOP leaves on the stack. */
export function runPickle(bytes: Uint8Array, table: PickleTable, source: string): unknown {
  return runPickleAt(bytes, table, source, 0).value
}

/** Runs the pickle that starts at byte `start`; returns its object and the offset just past its STOP. */
export function runPickleAt(bytes: Uint8Array, table: PickleTable, source: string, start: number): { value: unknown; end: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const decoder = new TextDecoder("utf-8", { fatal: true })
  let pos = start
  let stack: unknown[] = []
  const metastack: unknown[][] = []
  const memo = new Map<number, unknown>()

  const malformed = (what: string): TorchPickleError =>
    new TorchPickleError(
      "TORCH_PICKLE_MALFORMED",
      `the pickle in "${source}" is malformed at byte ${pos}: ${what}. The file is corrupt or not a torch.save checkpoint; re-download or re-save it.`,
    )
  const truncated = (what: string): TorchPickleError =>
    new PickleTruncatedError(
      `the pickle in "${source}" is truncated at byte ${pos}: ${what}. The file is cut short or not a torch.save checkpoint; re-download or re-save it.`,
    )
  const need = (n: number): number => {
    if (n < 0) throw malformed("a negative length")
    if (pos + n > bytes.length) throw truncated(`needs ${n} more bytes, only ${bytes.length - pos} left`)
    const at = pos
    pos += n
    return at
  }
  const u8 = (): number => bytes[need(1)]!
  const u16 = (): number => view.getUint16(need(2), true)
  const i32 = (): number => view.getInt32(need(4), true)
  const u32 = (): number => view.getUint32(need(4), true)
  const u64 = (): number => {
    const value = view.getBigUint64(need(8), true)
    if (value > BigInt(bytes.length)) throw truncated(`length ${value} runs past the end of the stream`)
    return Number(value)
  }
  const line = (): string => {
    const end = bytes.indexOf(0x0a, pos)
    if (end < 0) throw truncated("a text argument has no end of line")
    const text = new TextDecoder("latin1").decode(bytes.subarray(pos, end))
    pos = end + 1
    return text
  }
  const utf8 = (n: number): string => {
    const at = need(n)
    try {
      return decoder.decode(bytes.subarray(at, at + n))
    } catch {
      throw malformed("a string is not valid UTF-8")
    }
  }
  const raw = (n: number): Uint8Array => {
    const at = need(n)
    return bytes.slice(at, at + n)
  }
  const pop = (): unknown => {
    if (stack.length === 0) throw malformed("the stack is empty")
    return stack.pop()
  }
  const top = (): unknown => {
    if (stack.length === 0) throw malformed("the stack is empty")
    return stack[stack.length - 1]
  }
  const popMark = (): unknown[] => {
    const items = stack
    const previous = metastack.pop()
    if (previous === undefined) throw malformed("no MARK to pop to")
    stack = previous
    return items
  }
  const int = (value: bigint): number | bigint =>
    value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value
  const long = (n: number): number | bigint => {
    if (n === 0) return 0
    const at = need(n)
    let value = 0n
    for (let i = n - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[at + i]!)
    if (bytes[at + n - 1]! >= 0x80) value -= 1n << BigInt(8 * n)
    return int(value)
  }
  const textInt = (text: string): number | bigint | boolean => {
    if (text === "01") return true
    if (text === "00") return false
    const digits = text.endsWith("L") ? text.slice(0, -1) : text
    if (!/^[+-]?\d+$/.test(digits)) throw malformed(`"${text}" is not an integer`)
    return int(BigInt(digits))
  }
  const setItem = (dict: unknown, key: unknown, value: unknown): void => {
    if (!(dict instanceof Map)) throw new TorchPickleError("TORCH_PICKLE_MALFORMED", `the pickle in "${source}" sets an item on something that is not a dict (byte ${pos}).`)
    if (!isKey(key)) {
      throw new TorchPickleError("TORCH_PICKLE_UNSUPPORTED", `the pickle in "${source}" has a dict key that is not a string, number, bool or None (byte ${pos}); state dicts have string keys.`)
    }
    dict.set(key, value)
  }
  const getMemo = (index: number): unknown => {
    if (!memo.has(index)) throw malformed(`memo entry ${index} was never stored`)
    return memo.get(index)
  }

  for (;;) {
    const opAt = pos
    const op = u8()
    switch (op) {
      case 0x80: // PROTO
        if (u8() > 5) throw malformed("pickle protocol above 5")
        break
      case 0x95: // FRAME (protocol 4 framing hint)
        u64()
        break
      case 0x2e: {
        // STOP
        if (metastack.length !== 0) throw malformed("STOP inside an unfinished MARK")
        if (stack.length !== 1) throw malformed(`STOP with ${stack.length} values on the stack (expected 1)`)
        return { value: stack[0], end: pos }
      }
      case 0x28: // MARK
        metastack.push(stack)
        stack = []
        break
      case 0x30: // POP
        pop()
        break
      case 0x31: // POP_MARK
        popMark()
        break
      case 0x32: // DUP
        stack.push(top())
        break
      case 0x4e: // NONE
        stack.push(null)
        break
      case 0x88: // NEWTRUE
        stack.push(true)
        break
      case 0x89: // NEWFALSE
        stack.push(false)
        break
      case 0x4a: // BININT
        stack.push(i32())
        break
      case 0x4b: // BININT1
        stack.push(u8())
        break
      case 0x4d: // BININT2
        stack.push(u16())
        break
      case 0x8a: // LONG1
        stack.push(long(u8()))
        break
      case 0x8b: {
        // LONG4
        const n = i32()
        if (n < 0) throw malformed("negative LONG4 length")
        stack.push(long(n))
        break
      }
      case 0x49: // INT (text)
      case 0x4c: // LONG (text)
        stack.push(textInt(line()))
        break
      case 0x47: // BINFLOAT (big-endian double)
        stack.push(view.getFloat64(need(8), false))
        break
      case 0x46: {
        // FLOAT (text)
        const text = line()
        const value = Number(text)
        if (text.trim() === "" || Number.isNaN(value) && !/nan/i.test(text)) throw malformed(`"${text}" is not a float`)
        stack.push(value)
        break
      }
      case 0x58: // BINUNICODE
        stack.push(utf8(u32()))
        break
      case 0x8c: // SHORT_BINUNICODE
        stack.push(utf8(u8()))
        break
      case 0x8d: // BINUNICODE8
        stack.push(utf8(u64()))
        break
      case 0x55: // SHORT_BINSTRING (Python 2 str, read as latin-1 text)
        stack.push(new TextDecoder("latin1").decode(raw(u8())))
        break
      case 0x54: {
        // BINSTRING
        const n = i32()
        if (n < 0) throw malformed("negative BINSTRING length")
        stack.push(new TextDecoder("latin1").decode(raw(n)))
        break
      }
      case 0x43: // SHORT_BINBYTES
        stack.push(raw(u8()))
        break
      case 0x42: // BINBYTES
        stack.push(raw(u32()))
        break
      case 0x8e: // BINBYTES8
        stack.push(raw(u64()))
        break
      case 0x29: // EMPTY_TUPLE
        stack.push(makeTuple([]))
        break
      case 0x74: {
        // TUPLE (popMark replaces `stack`: take the items before pushing)
        const items = popMark()
        stack.push(makeTuple(items))
        break
      }
      case 0x85: // TUPLE1
        stack.push(makeTuple([pop()]))
        break
      case 0x86: {
        // TUPLE2
        const b = pop()
        const a = pop()
        stack.push(makeTuple([a, b]))
        break
      }
      case 0x87: {
        // TUPLE3
        const c = pop()
        const b = pop()
        const a = pop()
        stack.push(makeTuple([a, b, c]))
        break
      }
      case 0x5d: // EMPTY_LIST
        stack.push([])
        break
      case 0x6c: {
        // LIST
        const items = popMark()
        stack.push(items)
        break
      }
      case 0x61: {
        // APPEND
        const item = pop()
        const list = top()
        if (!isList(list)) throw malformed("APPEND to something that is not a list")
        list.push(item)
        break
      }
      case 0x65: {
        // APPENDS
        const items = popMark()
        const list = top()
        if (!isList(list)) throw malformed("APPENDS to something that is not a list")
        list.push(...items)
        break
      }
      case 0x7d: // EMPTY_DICT
        stack.push(new Map())
        break
      case 0x64: {
        // DICT
        const items = popMark()
        if (items.length % 2 !== 0) throw malformed("DICT with an odd number of items")
        const dict = new Map()
        for (let i = 0; i < items.length; i += 2) setItem(dict, items[i], items[i + 1])
        stack.push(dict)
        break
      }
      case 0x73: {
        // SETITEM
        const value = pop()
        const key = pop()
        setItem(top(), key, value)
        break
      }
      case 0x75: {
        // SETITEMS
        const items = popMark()
        if (items.length % 2 !== 0) throw malformed("SETITEMS with an odd number of items")
        const dict = top()
        for (let i = 0; i < items.length; i += 2) setItem(dict, items[i], items[i + 1])
        break
      }
      case 0x63: {
        // GLOBAL
        const module = line()
        const name = line()
        stack.push(table.global(module, name))
        break
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop()
        const module = pop()
        if (typeof module !== "string" || typeof name !== "string") throw malformed("STACK_GLOBAL needs two strings")
        stack.push(table.global(module, name))
        break
      }
      case 0x69: {
        // INST: imports module.name like GLOBAL, then calls it
        const module = line()
        const name = line()
        const cls = table.global(module, name)
        const items = popMark()
        stack.push(table.reduce(cls, items))
        break
      }
      case 0x6f: {
        // OBJ
        const items = popMark()
        if (items.length === 0) throw malformed("OBJ without a class")
        stack.push(table.reduce(items[0], items.slice(1)))
        break
      }
      case 0x52: {
        // REDUCE
        const args = pop()
        const callable = pop()
        if (!isTuple(args)) throw malformed("REDUCE arguments are not a tuple")
        stack.push(table.reduce(callable, args))
        break
      }
      case 0x81: {
        // NEWOBJ
        const args = pop()
        const cls = pop()
        if (!isTuple(args)) throw malformed("NEWOBJ arguments are not a tuple")
        stack.push(table.newObject(cls, args))
        break
      }
      case 0x92: {
        // NEWOBJ_EX
        const kwargs = pop()
        const args = pop()
        const cls = pop()
        if (!isTuple(args) || !(kwargs instanceof Map)) throw malformed("NEWOBJ_EX needs a tuple and a dict")
        if (kwargs.size !== 0) throw new TorchPickleError("TORCH_PICKLE_CALL_NOT_ALLOWED", `the pickle in "${source}" creates an object with keyword arguments (NEWOBJ_EX), which a weights-only load does not allow.`)
        stack.push(table.newObject(cls, args))
        break
      }
      case 0x62: {
        // BUILD
        const state = pop()
        const instance = pop()
        stack.push(table.build(instance, state))
        break
      }
      case 0x51: // BINPERSID
        stack.push(table.persistentLoad(pop()))
        break
      case 0x50: // PERSID
        stack.push(table.persistentLoad(line()))
        break
      case 0x68: // BINGET
        stack.push(getMemo(u8()))
        break
      case 0x6a: // LONG_BINGET
        stack.push(getMemo(u32()))
        break
      case 0x67: // GET (text)
        stack.push(getMemo(Number(textInt(line()))))
        break
      case 0x71: // BINPUT
        memo.set(u8(), top())
        break
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top())
        break
      case 0x70: // PUT (text)
        memo.set(Number(textInt(line())), top())
        break
      case 0x94: // MEMOIZE
        memo.set(memo.size, top())
        break
      case 0x8f: // EMPTY_SET
      case 0x90: // ADDITEMS
      case 0x91: // FROZENSET
      case 0x96: // BYTEARRAY8
      case 0x97: // NEXT_BUFFER
      case 0x98: // READONLY_BUFFER
      case 0x82: // EXT1
      case 0x83: // EXT2
      case 0x84: // EXT4
        pos = opAt
        throw new TorchPickleError(
          "TORCH_PICKLE_UNSUPPORTED",
          `the pickle in "${source}" uses opcode 0x${op.toString(16)} at byte ${opAt} (sets, byte arrays, out-of-band buffers or extension codes), which this weights-only reader does not build. Save a plain state dict of tensors.`,
        )
      default:
        pos = opAt
        throw malformed(`unknown opcode 0x${op.toString(16)}`)
    }
  }
}
