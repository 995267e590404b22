// Telling a torch checkpoint from other weight files by its first bytes.
import { open } from "node:fs/promises"

/**
 * `"zip"` for a `torch.save` zip (or any zip), `"legacy-pickle"` for a bare pickle (pre-1.6 torch.save starts with
 * protocol 2), `undefined` otherwise — e.g. to route a `.bin` given where safetensors was expected.
 *
 * @example
 * if (await isTorchCheckpointFile("ip-adapter.bin")) tensors = await readTorchStateDict("ip-adapter.bin")
 */
export async function isTorchCheckpointFile(path: string): Promise<"zip" | "legacy-pickle" | undefined> {
  const handle = await open(path, "r")
  try {
    const head = new Uint8Array(4)
    const { bytesRead } = await handle.read(head, 0, 4, 0)
    if (bytesRead >= 4 && head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) return "zip"
    if (bytesRead >= 2 && head[0] === 0x80 && head[1]! >= 2 && head[1]! <= 5) return "legacy-pickle"
    return undefined
  } finally {
    await handle.close()
  }
}
