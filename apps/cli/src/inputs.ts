import { constants, openSync } from "node:fs"
import { stat } from "node:fs/promises"
import { Socket } from "node:net"
import { CliError, UserAbortError } from "./errors.js"
import { userPath } from "./model-path.js"

/** Largest input read from a pipe or device (a regular file's size is the decoder's business). */
export const MAX_STREAM_BYTES = 256 * 1024 * 1024

/**
 * An input image flag's value for the worker: a regular file as its absolute path (the pipeline reads it and names it
 * in errors); a FIFO or pipe (`<(curl …)`, `/dev/stdin` fed by a pipe) read here into bytes without ever blocking a
 * thread, so a writer that never comes cannot hold pagkit — Ctrl-C ends the wait (exit 130). Missing files,
 * folders, devices and sockets are refused (exit 2).
 */
export async function readInput(flag: string, file: string, signal: AbortSignal, onWait?: (message: string) => void): Promise<string | Uint8Array> {
  const where = userPath(file)
  const info = await stat(where).catch((error: NodeJS.ErrnoException) => {
    throw new CliError(`${flag}: ${error.code === "ENOENT" ? "file not found" : error.message}: ${where}.`, { code: "INPUT_NOT_FOUND", cause: error })
  })
  if (info.isFile()) return where
  if (info.isDirectory()) throw new CliError(`${flag}: ${where} is a folder; expected an image file (PNG, JPEG, WebP).`, { code: "INPUT_NOT_FILE" })
  if (!info.isFIFO()) throw new CliError(`${flag}: ${where} is not a regular file or a pipe (a device or socket); pass an image file.`, { code: "INPUT_NOT_FILE" })
  onWait?.(`waiting for ${flag} ${where} (a pipe)… Ctrl-C to stop`)
  return readFifo(flag, where, signal)
}

/**
 * Reads a FIFO through the event loop. A blocking open would park a libuv pool thread until a writer comes, and
 * Node joins those threads at exit, so even process.exit would hang. Opened with O_NONBLOCK (returns at once) and
 * read as a pipe socket (epoll), the wait costs no thread; on Linux, poll reports no hang-up before the first writer.
 */
function readFifo(flag: string, where: string, signal: AbortSignal): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new UserAbortError())
    let fd: number
    try {
      fd = openSync(where, constants.O_RDONLY | constants.O_NONBLOCK)
    } catch (error) {
      return reject(new CliError(`${flag}: cannot open ${where}: ${(error as Error).message}.`, { code: "INPUT_UNREADABLE", exitCode: 1, cause: error }))
    }
    const stream = new Socket({ fd, readable: true, writable: false })
    const chunks: Buffer[] = []
    let size = 0
    const onAbort = (): void => {
      stream.destroy()
      reject(new UserAbortError(`stopped by the user (Ctrl-C) while waiting for ${flag} ${where}; nothing was written.`))
    }
    signal.addEventListener("abort", onAbort, { once: true })
    stream.on("data", (chunk: Buffer | string) => {
      const buffer = typeof chunk === "string" ? Buffer.from(chunk) : chunk
      size += buffer.length
      if (size > MAX_STREAM_BYTES) {
        stream.destroy()
        reject(new CliError(`${flag}: ${where} sent more than ${MAX_STREAM_BYTES} bytes; expected one image.`, { code: "INPUT_TOO_LARGE" }))
      } else chunks.push(buffer)
    })
    stream.on("error", (error) => reject(new CliError(`${flag}: cannot read ${where}: ${error.message}.`, { code: "INPUT_UNREADABLE", exitCode: 1, cause: error })))
    stream.on("end", () => {
      signal.removeEventListener("abort", onAbort)
      const bytes = Buffer.concat(chunks)
      if (bytes.length === 0) reject(new CliError(`${flag}: ${where} gave no bytes; expected an image.`, { code: "INPUT_EMPTY", exitCode: 1 }))
      else resolve(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length))
    })
  })
}
