import { describe, expect, it } from "vitest"
import { CliError, parseCli } from "./args.js"
import type { CliOptions, CompareOptions, LayersOptions } from "./args.js"
import { OPTIONS, commandHelp } from "./options.js"

function run(argv: string[]): CliOptions {
  const parsed = parseCli(argv)
  if (parsed.kind !== "run") throw new Error(`expected a run, got ${parsed.kind}`)
  return parsed.options
}

const base = ["generate", "-p", "p", "-o", "o.png"]

describe("parseCli", () => {
  it("parses generate with defaults (long and short flags)", () => {
    expect(run(["generate", "--prompt", "a red circle", "--out", "x.png"])).toMatchObject({
      command: "generate", prompt: "a red circle", out: "x.png", seeds: [0], pagScale: undefined, pagLayers: undefined, numImages: 1, force: false, json: false,
    })
    expect(run(["generate", "-p", "a", "-o", "b.webp", "-m", "dir", "-s", "7", "-n", "4", "-g", "6.5", "-f", "-q"])).toMatchObject({
      prompt: "a", out: "b.webp", model: "dir", seeds: [7], steps: 4, guidanceScale: 6.5, force: true, quiet: true,
    })
    expect(run(["img2img", "-p", "a", "-o", "b.png", "-i", "in.png"]).image).toBe("in.png")
  })

  it("splits layer lists and reads numbers", () => {
    expect(run([...base, "--pag-layers", "down.block_2, mid", "--steps", "4", "--guidance-scale", "7.5"])).toMatchObject({ pagLayers: ["down.block_2", "mid"], steps: 4, guidanceScale: 7.5 })
  })

  it("reads seeds, windows, adapters, runtime and output flags", () => {
    const o = run([
      ...base, "--seeds", "0-2,9", "--pag-window", "0,0.5", "--cfg-window", "0.1,1", "--controlnet", "a", "--controlnet", "b",
      "--control-image", "x.png", "--control-image", "y.png", "--controlnet-scale", "0.5,0.7", "--unet", "u", "--ip-adapter", "w.bin",
      "--ip-adapter-image", "r.png", "--ip-adapter-scale", "0.6", "--image-encoder", "enc", "--layer-matching", "strict",
      "--execution-provider", "cuda,cpu", "--scheduler", "EulerDiscreteScheduler", "--quality", "80", "--json",
      "--seg-scale", "3", "--seg-blur-sigma", "10", "--seg-layers", "mid", "--slg-scale", "2", "--slg-layers", "up", "--apg", "--apg-eta", "0",
      "--apg-norm-threshold", "15", "--apg-momentum", "-0.5", "--plugins", "mod.js",
    ])
    expect(o).toMatchObject({
      seeds: [0, 1, 2, 9], pagWindow: [0, 0.5], cfgWindow: [0.1, 1], controlnet: ["a", "b"], controlImage: ["x.png", "y.png"],
      controlnetScale: [0.5, 0.7], unet: "u", ipAdapter: ["w.bin"], ipAdapterImage: ["r.png"], ipAdapterScale: [0.6], imageEncoder: "enc",
      layerMatching: "strict", executionProviders: ["cuda", "cpu"], scheduler: "EulerDiscreteScheduler", quality: 80, json: true,
      segScale: 3, segBlurSigma: 10, segLayers: ["mid"], slgScale: 2, slgLayers: ["up"], apg: true, apgEta: 0, apgNormThreshold: 15, apgMomentum: -0.5,
      plugins: "mod.js",
    })
    expect(run([...base, "--cfg-zero-star", "--zero-init-steps", "2"])).toMatchObject({ cfgZeroStar: true, zeroInitSteps: 2 })
  })

  it("returns help, per-command help and version", () => {
    expect(parseCli([])).toMatchObject({ kind: "help", text: undefined })
    expect(parseCli(["generate", "--help"])).toMatchObject({ kind: "help", text: commandHelp("generate") })
    expect(parseCli(["inpaint", "-h"])).toMatchObject({ kind: "help", text: commandHelp("inpaint") })
    expect(parseCli(["help", "layers"])).toMatchObject({ kind: "help", text: commandHelp("layers") })
    expect(parseCli(["--version"])).toMatchObject({ kind: "version" })
    expect(parseCli(["-v"])).toMatchObject({ kind: "version" })
  })

  it("shows the real defaults in help (strength as diffusers: img2img 0.3, inpaint 0.9999)", () => {
    expect(commandHelp("img2img")).toMatch(/--strength <x> .*default: img2img 0\.3, inpaint 0\.9999/)
    expect(commandHelp("generate")).not.toMatch(/--strength/)
    expect(commandHelp("generate")).toMatch(/-p, --prompt/)
    expect(commandHelp("generate")).toMatch(/exit codes: 0 done, 1 run failed, 2 bad command line .* 130 stopped by Ctrl-C/)
    for (const o of OPTIONS) expect(o.help.length).toBeGreaterThan(3)
    const shorts = OPTIONS.flatMap((o) => (o.short === undefined ? [] : [o.short]))
    expect(new Set(shorts).size).toBe(shorts.length)
  })

  it("parses layers and compare", () => {
    const layers = parseCli(["layers", "models/x", "--pattern", "mid,up", "--target", "block"])
    expect(layers.kind).toBe("layers")
    expect((layers as { options: LayersOptions }).options).toMatchObject({ model: "models/x", patterns: ["mid", "up"], target: "block" })
    const compare = parseCli(["compare", "-p", "p", "-o", "g.png", "--pag-scales", "0,3", "--layer-sets", "mid;down.block_2,mid"])
    expect(compare.kind).toBe("compare")
    expect((compare as { options: CompareOptions }).options).toMatchObject({ seeds: [0, 1, 2, 3], pagScales: [0, 3], layerSets: [["mid"], ["down.block_2", "mid"]] })
  })

  it.each([
    [["paint", "--prompt", "p"], /unknown command "paint"/],
    [["generate", "--out", "o.png"], /--prompt \(-p\) is required/],
    [["generate", "--prompt", "p"], /--out \(-o\) is required/],
    [["img2img", "--prompt", "p", "--out", "o.png"], /needs --image/],
    [["inpaint", "--prompt", "p", "--out", "o.png", "--image", "i.png"], /needs --mask/],
    [[...base, "--steps", "2.5"], /whole number/],
    [[...base, "--seed=-1"], /at least 0/],
    [["img2img", ...base.slice(1), "-i", "x.png", "--strength", "1.5"], /at most 1/],
    [["img2img", ...base.slice(1), "-i", "x.png", "--strength", "0"], /--strength must be greater than 0, found 0/],
    [[...base, "--pag-scale", "abc"], /expects a number/],
    [[...base, "--bogus"], /Unknown option '--bogus'.*pagkit generate --help/],
    [[...base, "--mask", "m.png"], /--mask is an option of inpaint, not of generate/],
    [[...base, "--pag-layers", ","], /--pag-layers is empty/],
    [[...base, "--seed", "1", "--seeds", "0-3"], /--seed or --seeds, not both/],
    [[...base, "--pag-window", "0.5,0.2"], /start must be below end/],
    [[...base, "--pag-window", "0.5"], /two fractions/],
    [[...base, "--layer-matching", "fuzzy"], /diffusers or strict/],
    [[...base, "--ip-adapter", "a.bin", "--ip-adapter", "b.bin", "--ip-adapter-image", "r.png", "--ip-adapter-scale", "1", "--ip-adapter-scale", "2", "--ip-adapter-scale", "3"], /one per --ip-adapter \(2\); found 3/],
    [[...base, "--ip-adapter", "a.bin"], /needs --ip-adapter-image/],
    [[...base, "--ip-adapter-scale", "0.5"], /needs --ip-adapter/],
    [[...base, "--controlnet", "a"], /need as many --control-image/],
    [[...base, "--control-image", "a.png"], /need --controlnet/],
    [[...base, "--guidance", "g.json", "--pag-scale", "2"], /--guidance holds the whole chain; drop --pag-scale/],
    [[...base, "--guidance", "g.json", "--seg-scale", "2"], /drop --seg-scale/],
    [["layers", "a", "b"], /one MODEL/],
    [["compare", "-p", "p", "-o", "g.png", "--pag-scales", "0,3", "--guidance", "g.json"], /--guidance fixes one chain for every row/],
  ])("rejects %j with exit code 2", (argv, message) => {
    let error: unknown
    try {
      parseCli(argv)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(CliError)
    expect((error as CliError).exitCode).toBe(2)
    expect((error as Error).message).toMatch(message)
  })
})
