import { execFileSync } from "node:child_process"
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from "node:fs"
import * as fsp from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { describe, expect, it } from "vitest"
import { CliError } from "./errors.js"
import { checkOutputTarget, checkOutputTargets, outputNames, writeOutputs } from "./output-file.js"
import type { OutputFs } from "./output-file.js"

function tempDir(): string {
  return mkdtempSync(path.join(tmpdir(), "pagkit-out-"))
}

async function refusal(promise: Promise<unknown>): Promise<CliError> {
  const error = await promise.then(() => undefined, (e: unknown) => e)
  expect(error).toBeInstanceOf(CliError)
  return error as CliError
}

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text)

describe("output targets", () => {
  it("accepts a new file and refuses an existing one without --force", async () => {
    const dir = tempDir()
    expect(await checkOutputTarget(path.join(dir, "new.png"), { force: false })).toEqual({ exists: false })
    writeFileSync(path.join(dir, "old.png"), "old")
    const error = await refusal(checkOutputTarget(path.join(dir, "old.png"), { force: false }))
    expect(error.code).toBe("OUTPUT_EXISTS")
    expect(error.message).toMatch(/exists; pass --force/)
    expect(await checkOutputTarget(path.join(dir, "old.png"), { force: true })).toEqual({ exists: true })
  })

  it("never replaces a FIFO, even with --force, and leaves it a FIFO", async () => {
    const dir = tempDir()
    const fifo = path.join(dir, "pipe.png")
    execFileSync("mkfifo", [fifo])
    for (const force of [false, true]) {
      const error = await refusal(writeOutputs([{ path: fifo, bytes: bytes("png") }], { force }))
      expect(error.code).toBe("OUTPUT_NOT_REGULAR")
      expect(error.message).toMatch(/FIFO/)
    }
    expect(lstatSync(fifo).isFIFO()).toBe(true)
    expect(readdirSync(dir)).toEqual(["pipe.png"])
  })

  it("does not write through a symbolic link: the link and its target stay as they were", async () => {
    const dir = tempDir()
    const target = path.join(dir, "target.png")
    writeFileSync(target, "mine")
    const link = path.join(dir, "link.png")
    symlinkSync(target, link)
    const error = await refusal(writeOutputs([{ path: link, bytes: bytes("new") }], { force: true }))
    expect(error.message).toMatch(/symbolic link/)
    expect(lstatSync(link).isSymbolicLink()).toBe(true)
    expect(readFileSync(target, "utf8")).toBe("mine")
    // A dangling link is refused too (it would otherwise create a file wherever it points).
    const dangling = path.join(dir, "dangling.png")
    symlinkSync(path.join(dir, "nowhere.png"), dangling)
    await refusal(writeOutputs([{ path: dangling, bytes: bytes("new") }], { force: true }))
    expect(existsSync(path.join(dir, "nowhere.png"))).toBe(false)
  })

  it("refuses folders and read-only files (as root too), even with --force", async () => {
    const dir = tempDir()
    mkdirSync(path.join(dir, "folder.png"))
    expect((await refusal(checkOutputTarget(path.join(dir, "folder.png"), { force: true }))).message).toMatch(/is a folder/)
    const readOnly = path.join(dir, "ro.png")
    writeFileSync(readOnly, "keep")
    chmodSync(readOnly, 0o444)
    const error = await refusal(writeOutputs([{ path: readOnly, bytes: bytes("new") }], { force: true }))
    expect(error.code).toBe("OUTPUT_READ_ONLY")
    expect(readFileSync(readOnly, "utf8")).toBe("keep")
  })

  it("never replaces a device node (issue 16: --out /dev/full), made in a temp folder when mknod is allowed", async (ctx) => {
    const dir = tempDir()
    const full = path.join(dir, "full.png")
    try {
      execFileSync("mknod", [full, "c", "1", "7"], { stdio: "ignore" }) // the /dev/full device numbers
    } catch {
      ctx.skip() // not root / no CAP_MKNOD: the FIFO test covers the same path
    }
    const error = await refusal(writeOutputs([{ path: full, bytes: bytes("png") }], { force: true }))
    expect(error.message).toMatch(/character device/)
    expect(lstatSync(full).isCharacterDevice()).toBe(true)
    expect(readdirSync(dir)).toEqual(["full.png"])
  })

  it("overwrites an existing regular file with --force", async () => {
    const dir = tempDir()
    const file = path.join(dir, "a.png")
    writeFileSync(file, "old")
    expect(await writeOutputs([{ path: file, bytes: bytes("new") }], { force: true })).toEqual([file])
    expect(readFileSync(file, "utf8")).toBe("new")
    expect(readdirSync(dir)).toEqual(["a.png"])
  })

  it("refuses two images to one file", async () => {
    await expect(checkOutputTargets(["/tmp/x.png", "/tmp/x.png"], { force: true })).rejects.toThrow(/same file/)
  })
})

describe("writeOutputs", () => {
  it("writes every file, creating the folder", async () => {
    const dir = path.join(tempDir(), "sub")
    const files = ["a-1.png", "a-2.png", "a-3.png"].map((f, i) => ({ path: path.join(dir, f), bytes: bytes(`image ${i}`) }))
    expect(await writeOutputs(files, { force: false })).toEqual(files.map((f) => f.path))
    expect(readdirSync(dir).sort()).toEqual(["a-1.png", "a-2.png", "a-3.png"])
  })

  it("writes nothing when the second of three targets is refused (issue 16 item 5)", async () => {
    const dir = tempDir()
    mkdirSync(path.join(dir, "a-2.png"))
    const files = [1, 2, 3].map((i) => ({ path: path.join(dir, `a-${i}.png`), bytes: bytes(`image ${i}`) }))
    await refusal(writeOutputs(files, { force: true }))
    expect(readdirSync(dir)).toEqual(["a-2.png"])
  })

  it("removes the images already renamed into place when a later rename fails", async () => {
    const dir = tempDir()
    writeFileSync(path.join(dir, "a-1.png"), "the user's")
    let renames = 0
    const failing: OutputFs = {
      ...{ lstat: fsp.lstat, mkdir: fsp.mkdir, writeFile: fsp.writeFile, rm: fsp.rm },
      rename: async (from, to) => {
        if (++renames === 3) throw Object.assign(new Error("EIO: i/o error, rename"), { code: "EIO" })
        return fsp.rename(from, to)
      },
    }
    const files = [1, 2, 3].map((i) => ({ path: path.join(dir, `a-${i}.png`), bytes: bytes(`image ${i}`) }))
    const error = await refusal(writeOutputs(files, { force: true, fs: failing }))
    expect(error.code).toBe("WRITE_FAILED")
    expect(error.exitCode).toBe(1)
    expect(error.message).toMatch(/EIO/)
    // a-2 (new) was removed again; a-1 existed before (--force) and holds the new, complete image; no temporary files.
    expect(readdirSync(dir)).toEqual(["a-1.png"])
    expect(readFileSync(path.join(dir, "a-1.png"), "utf8")).toBe("image 1")
  })

  it("removes the temporary files when writing one fails", async () => {
    const dir = tempDir()
    let writes = 0
    const failing: OutputFs = {
      ...{ lstat: fsp.lstat, mkdir: fsp.mkdir, rename: fsp.rename, rm: fsp.rm },
      writeFile: async (file, data, options) => {
        if (++writes === 2) throw Object.assign(new Error("ENOSPC: no space left on device"), { code: "ENOSPC" })
        return fsp.writeFile(file, data, options)
      },
    }
    const files = [1, 2].map((i) => ({ path: path.join(dir, `a-${i}.png`), bytes: bytes(`image ${i}`) }))
    await expect(writeOutputs(files, { force: false, fs: failing })).rejects.toThrow(/ENOSPC/)
    expect(readdirSync(dir)).toEqual([])
  })
})

describe("outputNames", () => {
  it("names one image, images per seed, seeds, and both", () => {
    expect(outputNames("/o/x.png", [0], 1)).toEqual([["/o/x.png"]])
    expect(outputNames("/o/x.png", [0], 2)).toEqual([["/o/x-1.png", "/o/x-2.png"]])
    expect(outputNames("/o/x.jpg", [3, 4], 1)).toEqual([["/o/x-seed3.jpg"], ["/o/x-seed4.jpg"]])
    expect(outputNames("/o/x.webp", [3, 4], 2)).toEqual([["/o/x-seed3-1.webp", "/o/x-seed3-2.webp"], ["/o/x-seed4-1.webp", "/o/x-seed4-2.webp"]])
  })
})
