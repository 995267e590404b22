import { describe, expect, it } from "vitest"
import { CliError, parseCli } from "./args.js"

describe("parseCli", () => {
  it("parses generate with defaults", () => {
    const options = parseCli(["generate", "--prompt", "a red circle", "--out", "x.png"])
    expect(options).toMatchObject({ command: "generate", prompt: "a red circle", out: "x.png", seed: 0, pagScale: 3, pagLayers: undefined, numImages: 1 })
  })
  it("splits layer lists and reads numbers", () => {
    const options = parseCli(["generate", "--prompt", "p", "--out", "o.png", "--pag-layers", "down.block_2, mid", "--steps", "4", "--guidance-scale", "7.5"])
    expect(options).toMatchObject({ pagLayers: ["down.block_2", "mid"], steps: 4, guidanceScale: 7.5 })
  })
  it("reads IP-Adapter flags: repeatable weights, one image / scale for all or one per adapter", () => {
    const base = ["generate", "--prompt", "p", "--out", "o.png", "--image-encoder", "enc"]
    expect(parseCli([...base, "--ip-adapter", "plus.bin", "--ip-adapter-image", "bear.png", "--ip-adapter-scale", "0.7"])).toMatchObject({
      ipAdapters: ["plus.bin"], ipAdapterImages: ["bear.png"], ipAdapterScales: [0.7], imageEncoder: "enc",
    })
    const two = parseCli([...base, "--ip-adapter", "a.bin", "--ip-adapter", "b.safetensors", "--ip-adapter-image", "x.png", "--ip-adapter-scale", "0.5", "--ip-adapter-scale", "0.3"])
    expect(two).toMatchObject({ ipAdapters: ["a.bin", "b.safetensors"], ipAdapterImages: ["x.png"], ipAdapterScales: [0.5, 0.3] })
    expect(parseCli(["generate", "--prompt", "p", "--out", "o.png"])).toMatchObject({ ipAdapters: [], ipAdapterImages: [], ipAdapterScales: [] })
  })
  it.each([
    [["--ip-adapter-image", "x.png"], /need --ip-adapter <file>/],
    [["--ip-adapter", "a.bin", "--image-encoder", "enc"], /needs --ip-adapter-image/],
    [["--ip-adapter", "a.bin", "--ip-adapter-image", "x.png"], /needs --image-encoder/],
    [["--ip-adapter", "a.bin", "--image-encoder", "e", "--ip-adapter-image", "x.png", "--ip-adapter-image", "y.png"], /given 2 times for 1 --ip-adapter/],
    [["--ip-adapter", "a.bin", "--image-encoder", "e", "--ip-adapter-image", "x.png", "--ip-adapter-scale", "big"], /expects a number/],
  ])("rejects IP-Adapter flags %j", (flags, message) => {
    expect(() => parseCli(["generate", "--prompt", "p", "--out", "o.png", ...flags])).toThrow(message)
  })
  it("returns help", () => {
    expect(parseCli([])).toBe("help")
    expect(parseCli(["generate", "--help"])).toBe("help")
  })
  it.each([
    [["paint", "--prompt", "p"], /unknown command "paint"/],
    [["generate", "--out", "o.png"], /--prompt is required/],
    [["generate", "--prompt", "p"], /--out is required/],
    [["img2img", "--prompt", "p", "--out", "o.png"], /needs --image/],
    [["inpaint", "--prompt", "p", "--out", "o.png", "--image", "i.png"], /needs --mask/],
    [["generate", "--prompt", "p", "--out", "o.png", "--steps", "2.5"], /whole number/],
    [["generate", "--prompt", "p", "--out", "o.png", "--seed=-1"], /at least 0/],
    [["generate", "--prompt", "p", "--out", "o.png", "--strength", "1.5"], /at most 1/],
    [["generate", "--prompt", "p", "--out", "o.png", "--pag-scale", "abc"], /expects a number/],
    [["generate", "--prompt", "p", "--out", "o.png", "--bogus"], /Unknown option/],
  ])("rejects %j", (argv, message) => {
    expect(() => parseCli(argv)).toThrow(CliError)
    expect(() => parseCli(argv)).toThrow(message)
  })
})
