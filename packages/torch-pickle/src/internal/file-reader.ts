// Positional reads from an open file handle (no whole-file copy).
import type { FileHandle } from "node:fs/promises"

/** Reads `length` bytes at `position` into a fresh, aligned buffer; returns how many bytes were read. */
export async function readAt(handle: FileHandle, position: number, length: number): Promise<{ bytes: Uint8Array; got: number }> {
  const bytes = new Uint8Array(length)
  let got = 0
  while (got < length) {
    const { bytesRead } = await handle.read(bytes, got, length - got, position + got)
    if (bytesRead === 0) break
    got += bytesRead
  }
  return { bytes, got }
}
