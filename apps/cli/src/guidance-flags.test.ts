import { describe, expect, it } from "vitest"
import { guidanceChainFromFlags } from "./guidance-flags.js"

const sdxl = { guidanceScale: 5, pagLayers: ["mid"] }

describe("guidanceChainFromFlags", () => {
  it("leaves plain CFG/PAG flags to the pipelines' scalar options", () => {
    expect(guidanceChainFromFlags({ guidanceScale: 7, pagScale: 2, pagLayers: ["up"] }, sdxl)).toBeUndefined()
  })

  it("maps the SEG flags to the issue's JSON, after CFG and PAG", () => {
    expect(guidanceChainFromFlags({ segScale: 3, segBlurSigma: 10, segLayers: ["mid"] }, sdxl)).toEqual({
      guidance: [
        { name: "cfg", scale: 5 },
        { name: "pag", scale: 3, layers: ["mid"] },
        { name: "seg", scale: 3, blurSigma: 10, layers: ["mid"] },
      ],
    })
  })

  it("maps SLG, windows, rescale and adaptive scale; --pag-scale 0 drops PAG", () => {
    expect(guidanceChainFromFlags({ guidanceScale: 6, guidanceRescale: 0.7, cfgWindow: [0, 0.5], pagScale: 0, slgScale: 2.8, slgLayers: ["blocks.7"], slgWindow: [0.01, 0.2] }, sdxl)).toEqual({
      guidance: [
        { name: "cfg", scale: 6, rescale: 0.7, window: [0, 0.5] },
        { name: "slg", scale: 2.8, layers: ["blocks.7"], window: [0.01, 0.2] },
      ],
    })
    expect(guidanceChainFromFlags({ pagWindow: [0, 0.5], pagAdaptiveScale: 0.002, pagLayers: ["down.block_2"] }, sdxl)).toEqual({
      guidance: [{ name: "cfg", scale: 5 }, { name: "pag", scale: 3, layers: ["down.block_2"], adaptiveScale: 0.002, window: [0, 0.5] }],
    })
  })

  it("puts APG or CFG-Zero* in CFG's place with the family's default scale", () => {
    const pixart = { guidanceScale: 4.5, pagLayers: ["blocks.1"] }
    expect(guidanceChainFromFlags({ apg: true, apgEta: 0, apgNormThreshold: 15, apgMomentum: -0.5, pagScale: 0 }, pixart)).toEqual({
      guidance: [{ name: "apg", scale: 4.5, eta: 0, normThreshold: 15, momentum: -0.5 }],
    })
    expect(guidanceChainFromFlags({ cfgZeroStar: true, zeroInitSteps: 2 }, pixart)).toEqual({
      guidance: [{ name: "cfg-zero-star", scale: 4.5, zeroInitSteps: 2 }, { name: "pag", scale: 3, layers: ["blocks.1"] }],
    })
  })

  it.each([
    [{ apg: true, cfgZeroStar: true }, /pick one/],
    [{ apgEta: 1 }, /--apg-eta needs --apg/],
    [{ zeroInitSteps: 1 }, /--zero-init-steps needs --cfg-zero-star/],
    [{ segLayers: ["mid"] }, /--seg-layers needs --seg-scale/],
    [{ slgWindow: [0, 0.5] as const }, /--slg-window needs --slg-scale/],
    [{ pagScale: 0, pagWindow: [0, 0.5] as const }, /--pag-scale 0 turns PAG off/],
  ])("rejects %j", (flags, message) => {
    expect(() => guidanceChainFromFlags(flags, sdxl)).toThrow(message)
  })
})
