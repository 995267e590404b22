import { MessageChannel, receiveMessageOnPort } from "node:worker_threads"
import { describe, expect, it } from "vitest"
import { Tensor } from "@pagkit/tensor"
import { callFromWire, callToWire, fromWire, prepareTransfer } from "./protocol.js"
import type { WireTensor } from "./protocol.js"

function roundTrip<T>(value: T, transfer: ArrayBuffer[] = []): T {
  const { port1, port2 } = new MessageChannel()
  port1.postMessage(value, transfer)
  const received = receiveMessageOnPort(port2)
  port1.close()
  return received!.message as T
}

describe("worker protocol", () => {
  it("transfers result buffers instead of copying them", () => {
    const images = Tensor.fromArray([0.1, 0.2, 0.3, 0.4, 0.5, 0.6], [1, 3, 1, 2])
    const latents = Tensor.fromArray([1, 2, 3, 4], [1, 4, 1, 1])
    const { wires, transfer } = prepareTransfer([images, latents])
    expect(transfer).toEqual([images.data.buffer, latents.data.buffer])
    const [img, lat] = roundTrip(wires, transfer) as WireTensor[]
    expect(images.data.buffer.byteLength).toBe(0) // detached: moved, not copied
    expect(latents.data.byteLength).toBe(0)
    expect(Array.from(fromWire({ ...img!, dtype: "float32" }).data)).toEqual(Array.from(Float32Array.from([0.1, 0.2, 0.3, 0.4, 0.5, 0.6])))
    expect(fromWire({ ...lat!, dtype: "float32" }).shape).toEqual([1, 4, 1, 1])
  })

  it("copies a view into a larger buffer before transferring, and skips undefined images", () => {
    const backing = new Float32Array([9, 1, 2, 3, 9])
    const view = new Tensor("float32", backing.subarray(1, 4), [3])
    const { wires, transfer } = prepareTransfer([undefined, view])
    expect(wires[0]).toBeUndefined()
    expect(transfer).toHaveLength(1)
    expect(transfer[0]).not.toBe(backing.buffer)
    roundTrip(wires, transfer)
    expect(Array.from(backing)).toEqual([9, 1, 2, 3, 9]) // the backing store is untouched
  })

  it("sends tensors in call options as plain data and rebuilds them", () => {
    const latents = Tensor.fromArray([1, 2, 3, 4], [1, 4, 1, 1])
    const wire = roundTrip(callToWire({ prompt: ["p", "q"], seed: 3n, latents, image: [new Uint8Array([1, 2]), latents], height: undefined }))
    expect(latents.data.byteLength).toBe(16) // the caller keeps its tensor
    expect("height" in wire).toBe(false)
    const call = callFromWire(wire)
    expect(call["latents"]).toBeInstanceOf(Tensor)
    expect((call["latents"] as Tensor).shape).toEqual([1, 4, 1, 1])
    expect(call["prompt"]).toEqual(["p", "q"])
    const [bytes, tensor] = call["image"] as unknown[]
    expect(bytes).toBeInstanceOf(Uint8Array)
    expect(tensor).toBeInstanceOf(Tensor)
    expect(call["seed"]).toBe(3n)
  })
})
