import type { Tensor } from "@pagkit/tensor"

/** Name, element type and (possibly symbolic) shape of one model input or output. */
export interface SessionIo {
  readonly name: string
  /** Element type as onnxruntime names it (`"float32"`, `"int64"`, …); `undefined` for non-tensors. */
  readonly dtype: string | undefined
  /** Numbers for fixed sizes, strings for symbolic ones (`"batch"`). */
  readonly shape: readonly (number | string)[]
}

/**
 * What the model adapters need from a loaded ONNX model. `@pagkit/onnx`'s `ModelSession` satisfies it;
 * tests can pass a stand-in.
 */
export interface SessionLike {
  /** The model file, when loaded from a path. */
  readonly path?: string | undefined
  readonly inputs: readonly SessionIo[]
  readonly outputs: readonly SessionIo[]
  hasInput(name: string): boolean
  run(feeds: Readonly<Record<string, Tensor>>, outputNames?: readonly string[]): Promise<Record<string, Tensor>>
  /** Frees the native session, where the implementation can. */
  release?(): Promise<void>
}

/** Declared input of a session, or `undefined`. */
export function sessionInput(session: SessionLike, name: string): SessionIo | undefined {
  return session.inputs.find((io) => io.name === name)
}

/** Declared output of a session, or `undefined`. */
export function sessionOutput(session: SessionLike, name: string): SessionIo | undefined {
  return session.outputs.find((io) => io.name === name)
}

/** `float32[batch, 4, h, w]`, for messages. */
export function describeSessionIo(io: SessionIo): string {
  return `${io.name}: ${io.dtype ?? "non-tensor"}[${io.shape.join(", ")}]`
}
