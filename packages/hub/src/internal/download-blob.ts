import { createHash, type Hash } from "node:crypto"
import { createReadStream, createWriteStream } from "node:fs"
import { mkdir, rename, stat, truncate, unlink } from "node:fs/promises"
import { dirname } from "node:path"
import { Readable, Transform } from "node:stream"
import type { ReadableStream as NodeReadableStream } from "node:stream/web"
import { pipeline } from "node:stream/promises"
import { HubError, HubIntegrityError } from "../errors.js"

/** What the hub's tree listing says a file is: its size and, when known, its hash. */
export interface ExpectedBlob {
  readonly file: string
  readonly size: number
  /** sha256 of the content (LFS oid). */
  readonly sha256?: string | undefined
  /** git blob id (sha1 over `blob <size>\0` + content), for files stored in git itself. */
  readonly gitOid?: string | undefined
}

/**
 * Streams `source` into `blobPath` through `blobPath + ".incomplete"` (the name huggingface_hub uses, so either
 * client resumes the other's partial download), hashing as it goes. An existing `.incomplete` file is resumed with a
 * range request (`source.slice(offset)`). `onBytes` is called first with the bytes already on disk, then as bytes arrive. A size or hash mismatch deletes the partial file and throws
 * {@link HubIntegrityError}. Returns how many bytes were already there (0 for a fresh download).
 */
export async function downloadBlob(options: {
  readonly source: Blob
  readonly blobPath: string
  readonly expected: ExpectedBlob
  readonly onBytes: (fileLoaded: number) => void
}): Promise<number> {
  const { source, blobPath, expected, onBytes } = options
  const incomplete = `${blobPath}.incomplete`
  await mkdir(dirname(blobPath), { recursive: true })
  let offset = await fileSize(incomplete)
  if (offset !== undefined && offset > expected.size) {
    await truncate(incomplete, 0)
    offset = 0
  }
  const resumedFrom = offset ?? 0
  const hash = newHash(expected)
  if (resumedFrom > 0) {
    for await (const chunk of createReadStream(incomplete)) hash.update(chunk as Buffer)
  }
  onBytes(resumedFrom) // first call: the bytes already there (0 for a fresh download)
  let loaded = resumedFrom
  if (resumedFrom < expected.size) {
    const body = (resumedFrom > 0 ? source.slice(resumedFrom) : source).stream() as unknown as NodeReadableStream
    const meter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        hash.update(chunk)
        loaded += chunk.length
        onBytes(loaded)
        done(null, chunk)
      },
    })
    try {
      await pipeline(Readable.fromWeb(body), meter, createWriteStream(incomplete, { flags: resumedFrom > 0 ? "a" : "w" }))
    } catch (cause) {
      throw new HubError(
        "HUB_REQUEST_FAILED",
        `Download of "${expected.file}" stopped after ${loaded} of ${expected.size} bytes: ${describe(cause)}. ` +
          `The partial file ${incomplete} is kept; run again to resume from byte ${loaded}.`,
        { cause },
      )
    }
  }
  const written = (await fileSize(incomplete)) ?? 0
  if (written !== expected.size) {
    await unlink(incomplete).catch(() => undefined)
    throw new HubIntegrityError(
      "HUB_SIZE_MISMATCH",
      expected.file,
      `Downloaded "${expected.file}" has ${written} bytes; the hub announced ${expected.size}. ` +
        "The partial file was deleted; run again, and report it to the repository owner if it repeats.",
    )
  }
  const digest = hash.digest("hex")
  const want = expected.sha256 ?? expected.gitOid
  if (want !== undefined && digest !== want) {
    await unlink(incomplete).catch(() => undefined)
    throw new HubIntegrityError(
      "HUB_CHECKSUM_MISMATCH",
      expected.file,
      `Downloaded "${expected.file}" is corrupt: its ${expected.sha256 !== undefined ? "sha256" : "git blob id"} is ` +
        `${digest}, expected ${want}. The file was deleted; run again (a proxy or an interrupted transfer may have damaged it).`,
    )
  }
  await rename(incomplete, blobPath)
  return resumedFrom
}

/** Hashes a cached blob the way {@link downloadBlob} checks a download; true when it matches. */
export async function blobMatches(path: string, expected: ExpectedBlob): Promise<boolean> {
  if ((await fileSize(path)) !== expected.size) return false
  const want = expected.sha256 ?? expected.gitOid
  if (want === undefined) return true
  const hash = newHash(expected)
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer)
  return hash.digest("hex") === want
}

function newHash(expected: ExpectedBlob): Hash {
  if (expected.sha256 !== undefined) return createHash("sha256")
  const hash = createHash("sha1")
  hash.update(`blob ${expected.size}\0`)
  return hash
}

async function fileSize(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size
  } catch {
    return undefined
  }
}

function describe(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause)
}
