import { open } from "node:fs/promises"

const LFS_POINTER = "version https://git-lfs.github.com/spec/v1"

/**
 * What is wrong with a file that should be an ONNX model, judged from its first bytes and size: a Git LFS
 * pointer (the repository was cloned without `git lfs`), an empty or tiny file, a text file. `undefined` when
 * nothing stands out (then it is most likely truncated or corrupt).
 */
export function modelBytesHint(head: Uint8Array, size: number): string | undefined {
  const text = new TextDecoder("utf-8", { fatal: false }).decode(head.subarray(0, 200))
  if (text.startsWith(LFS_POINTER)) {
    const oid = /oid sha256:([0-9a-f]{12})/.exec(text)?.[1]
    const real = /size (\d+)/.exec(text)?.[1]
    return `it is a Git LFS pointer (${size} bytes${oid === undefined ? "" : `, oid ${oid}…`}${real === undefined ? "" : `, standing for ${real} bytes`}), not the model: the repository was cloned without Git LFS. Run \`git lfs install && git lfs pull\` in it (or download the file itself)`
  }
  if (size === 0) return "it is empty (0 bytes): the download or export did not finish; download or export it again"
  if (/^\s*[{<#]/.test(text) && !text.includes("\u0000")) {
    return `it starts like a text file (${JSON.stringify(text.slice(0, 40))}…), not an ONNX protobuf: an HTML error page or a JSON file saved under the model's name? Download it again`
  }
  if (size < 64) return `it is only ${size} bytes, too small for any ONNX model: download or export it again`
  return undefined
}

/** {@link modelBytesHint} for a file on disk (reads its first bytes only); `undefined` when unreadable. */
export async function modelFileHint(file: string): Promise<string | undefined> {
  let handle
  try {
    handle = await open(file, "r")
    const { size } = await handle.stat()
    const head = new Uint8Array(Math.min(size, 512))
    await handle.read(head, 0, head.length, 0)
    return modelBytesHint(head, size)
  } catch {
    return undefined
  } finally {
    await handle?.close()
  }
}
