import { mkdtempSync, writeFileSync } from "node:fs"
import { homedir, tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { hubSettings } from "./settings.js"
import { filterPaths, fnmatch } from "./internal/fnmatch.js"

describe("hubSettings", () => {
  it("reads the variables huggingface_hub reads, options first", () => {
    expect(hubSettings({ env: {} })).toEqual({
      endpoint: "https://huggingface.co",
      cacheDir: join(homedir(), ".cache/huggingface/hub"),
      token: undefined,
      offline: false,
    })
    expect(hubSettings({ env: { XDG_CACHE_HOME: "/x" } }).cacheDir).toBe("/x/huggingface/hub")
    expect(hubSettings({ env: { HF_HOME: "/h", HF_HUB_CACHE: "/c" } }).cacheDir).toBe("/c")
    expect(hubSettings({ env: { HF_HOME: "/h", HF_ENDPOINT: "http://mirror/", HF_HUB_OFFLINE: "TRUE", HF_TOKEN: " hf_a " } })).toEqual({
      endpoint: "http://mirror",
      cacheDir: "/h/hub",
      token: "hf_a",
      offline: true,
    })
    expect(hubSettings({ env: { HF_HUB_OFFLINE: "0" } }).offline).toBe(false)
    expect(hubSettings({ env: { HF_TOKEN: "hf_a" }, token: "hf_b", cacheDir: "/d", offline: false, endpoint: "http://e" })).toEqual({
      endpoint: "http://e",
      cacheDir: "/d",
      token: "hf_b",
      offline: false,
    })
  })

  it("falls back to the token file `huggingface-cli login` writes", () => {
    const home = mkdtempSync(join(tmpdir(), "pagkit-hf-home-"))
    writeFileSync(join(home, "token"), "hf_stored\n")
    expect(hubSettings({ env: { HF_HOME: home } }).token).toBe("hf_stored")
    expect(hubSettings({ env: { HF_HOME: home, HF_TOKEN: "hf_env" } }).token).toBe("hf_env")
  })
})

describe("fnmatch patterns (huggingface_hub allow_patterns)", () => {
  it("matches like Python's fnmatch: * crosses folders, classes, trailing slash = folder", () => {
    expect(fnmatch("unet/model.onnx", "*.onnx")).toBe(true)
    expect(fnmatch("unet/model.onnx_data", "*.onnx")).toBe(false)
    expect(fnmatch("a.b", "a?b")).toBe(true)
    expect(fnmatch("v1.json", "v[0-9].json")).toBe(true)
    expect(fnmatch("vx.json", "v[!0-9].json")).toBe(true)
    expect(fnmatch("(x).json", "(x).json")).toBe(true)
    expect(filterPaths(["unet/a.onnx", "vae/a.onnx", "unet/w.bin"], ["unet/"], ["*.bin"])).toEqual(["unet/a.onnx"])
    expect(filterPaths(["a", "b"], undefined, undefined)).toEqual(["a", "b"])
  })
})
