import { describe, expect, it } from "vitest"
import { TorchPickleError } from "../errors.js"
import type { TorchStorageRef } from "../torch-tensor-ref.js"
import { PickleBuilder } from "./test-archive.js"
import { isTuple, runPickle } from "./pickle-machine.js"
import { torchTable } from "./torch-table.js"

function load(bytes: Uint8Array): unknown {
  return runPickle(bytes, torchTable({ source: "test.pkl", storages: new Map<string, TorchStorageRef>() }), "test.pkl")
}

function refusal(bytes: Uint8Array): TorchPickleError {
  try {
    load(bytes)
  } catch (error) {
    expect(error).toBeInstanceOf(TorchPickleError)
    return error as TorchPickleError
  }
  throw new Error("expected a refusal")
}

describe("runPickle with the torch allow-list", () => {
  it("builds plain data: dicts, lists, tuples, strings, ints (big ones as bigint), floats, bools, None", () => {
    const b = new PickleBuilder().proto().op(0x7d).mark()
      .str("list").op(0x5d).mark().int(1).int(-5).op(0x65) // [1, -5]
      .str("tuple").int(7).str("x").op(0x86) // (7, "x")
      .str("big").op(0x8a, 9, 0, 0, 0, 0, 0, 0, 0, 0, 1) // 2^64
      .str("neg").op(0x8a, 1, 0xff) // -1
      .str("float").op(0x47, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0) // 1.5
      .str("flags").op(0x88).op(0x89).op(0x4e).op(0x87)
      .op(0x75)
    const value = load(b.stop()) as Map<string, unknown>
    expect(value.get("list")).toEqual([1, -5])
    expect(isTuple(value.get("tuple"))).toBe(true)
    expect(value.get("tuple")).toEqual([7, "x"])
    expect(value.get("big")).toBe(2n ** 64n)
    expect(value.get("neg")).toBe(-1)
    expect(value.get("float")).toBe(1.5)
    expect(value.get("flags")).toEqual([true, false, null])
  })

  it("shares memoized objects (BINPUT / BINGET) like torch's shared storages", () => {
    // l = []; (l, l) — one list reached twice
    const b = new PickleBuilder().proto().op(0x5d).op(0x71, 0).op(0x30).mark().op(0x68, 0).op(0x68, 0).tuple()
    const value = load(b.stop()) as unknown[]
    expect(value).toHaveLength(2)
    expect(value[0]).toBe(value[1])
  })

  it("refuses any global off the allow-list by name, before it could be called", () => {
    const system = new PickleBuilder().proto().global("posix", "system").str("touch /tmp/x").op(0x85).op(0x52).stop()
    const e = refusal(system)
    expect(e.code).toBe("TORCH_PICKLE_GLOBAL_NOT_ALLOWED")
    expect(e.message).toContain("posix.system is not allowed in a weights-only load")
    // STACK_GLOBAL (protocol 4) and a blocked module whatever the name
    const stackGlobal = new PickleBuilder().proto(4).op(0x8c, 8, ...new TextEncoder().encode("builtins")).op(0x8c, 4, ...new TextEncoder().encode("eval")).op(0x93).stop()
    expect(refusal(stackGlobal).message).toContain("builtins.eval is not allowed")
    expect(refusal(new PickleBuilder().proto().global("os", "OrderedDict").stop()).code).toBe("TORCH_PICKLE_GLOBAL_NOT_ALLOWED")
    // INST imports by name too
    const inst = new PickleBuilder().proto().mark().str("ls").op(0x69, ...new TextEncoder().encode("subprocess\ncall\n")).stop()
    expect(refusal(inst).message).toContain("subprocess.call is not allowed")
  })

  it("refuses REDUCE / NEWOBJ / BUILD of anything but allowed callables", () => {
    // REDUCE on a string (not a global)
    expect(refusal(new PickleBuilder().proto().str("x").op(0x29).op(0x52).stop()).code).toBe("TORCH_PICKLE_CALL_NOT_ALLOWED")
    // a storage class is an allowed global, but not a callable
    expect(refusal(new PickleBuilder().proto().global("torch", "FloatStorage").op(0x29).op(0x52).stop()).message).toContain("torch.FloatStorage")
    // NEWOBJ of torch.Size, BUILD on a list
    expect(refusal(new PickleBuilder().proto().global("torch", "Size").op(0x29).op(0x81).stop()).code).toBe("TORCH_PICKLE_CALL_NOT_ALLOWED")
    expect(refusal(new PickleBuilder().proto().op(0x5d).op(0x7d).op(0x62).stop()).code).toBe("TORCH_PICKLE_CALL_NOT_ALLOWED")
    // persistent ids other than ('storage', …)
    expect(refusal(new PickleBuilder().proto().str("module").op(0x85).op(0x51).stop()).code).toBe("TORCH_PICKLE_CALL_NOT_ALLOWED")
  })

  it("names what torch allows but this reader does not build", () => {
    const e = refusal(new PickleBuilder().proto().global("torch._utils", "_rebuild_qtensor").stop())
    expect(e.code).toBe("TORCH_PICKLE_UNSUPPORTED")
    expect(e.message).toContain("torch._utils._rebuild_qtensor")
  })

  it("refuses malformed streams", () => {
    const cases: Uint8Array[] = [
      new PickleBuilder().proto().op(0x7d).bytes(), // no STOP
      new PickleBuilder().proto().op(0x52).stop(), // REDUCE on an empty stack
      new PickleBuilder().proto().op(0x68, 3).stop(), // BINGET of a memo never stored
      new PickleBuilder().proto().op(0x58, 0xff, 0xff, 0, 0).stop(), // string longer than the stream
      new PickleBuilder().proto().op(0xff).stop(), // unknown opcode
      new PickleBuilder().proto().op(0x65).stop(), // APPENDS without MARK
      new PickleBuilder().proto().op(0x7d).op(0x7d).stop(), // two values left at STOP
      new PickleBuilder().proto().mark().str("storage").global("torch", "FloatStorage").str("0").str("cpu").str("lots").tuple().op(0x51).stop(), // numel not an int
      new PickleBuilder().proto().tensor("FloatStorage", "0", 4, 0, [2, 2], [2]).stop(), // stride rank ≠ size rank
      new PickleBuilder().proto().tensor("FloatStorage", "0", 4, 0, [3, 2], [2, 1]).stop(), // view past the storage
    ]
    for (const bytes of cases) expect(refusal(bytes).code).toBe("TORCH_PICKLE_MALFORMED")
  })

  it("builds tensor references lazily (no bytes) with the storage they share", () => {
    const b = new PickleBuilder().proto().mark().tensor("FloatStorage", "7", 6, 1, [2, 2], [3, 1]).tensor("FloatStorage", "7", 6, 0, [6], [1]).op(0x6c)
    const [a, c] = load(b.stop()) as [{ storage: unknown; shape: number[]; stride: number[]; storageOffset: number }, { storage: unknown }]
    expect(a.shape).toEqual([2, 2])
    expect(a.stride).toEqual([3, 1])
    expect(a.storageOffset).toBe(1)
    expect(a.storage).toBe(c.storage)
  })
})
