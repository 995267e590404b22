import { describe, expect, it } from "vitest"
import type { StepContext } from "@pagkit/guidance"
import { createFakeDenoiser } from "@pagkit/guidance/testing"
import { GuiderConfigError, guidanceFromGuiderConfig } from "./guider-config.js"

const f = Math.fround
const at = (stepIndex: number, numSteps = 10): StepContext => ({ stepIndex, numSteps, timestep: 999 - 100 * stepIndex })
const saved = (className: string, values: Record<string, unknown>): Record<string, unknown> => ({ _class_name: className, _diffusers_version: "0.36.0", ...values })
const json = (m: unknown): unknown => (m as { toJSON(): unknown }).toJSON()

describe("guidanceFromGuiderConfig", () => {
  it("maps ClassifierFreeGuidance and computes u + g(c − u) as the guider's forward does", async () => {
    const { chain } = guidanceFromGuiderConfig(
      "ClassifierFreeGuidance",
      saved("ClassifierFreeGuidance", { guidance_scale: 5.0, guidance_rescale: 0.0, use_original_formulation: false, start: 0.0, stop: 1.0, enabled: true }),
    )
    const fake = createFakeDenoiser({ rowShape: [4, 2, 2] })
    const out = await chain.step(at(0), { batchSize: 1, denoise: fake.denoise })
    const c = fake.branchOutput("cond", undefined, 1).data
    const u = fake.branchOutput("uncond", undefined, 1).data
    // shift = pred_cond - pred_uncond; pred = pred_uncond + guidance_scale * shift
    expect([...out.data]).toEqual([...u].map((ui, i) => f(ui + f(5 * f(c[i]! - ui)))))
  })

  it("maps the original CFG formulation to scale + 1 and drops disabled or empty-window guiders", () => {
    const original = guidanceFromGuiderConfig("ClassifierFreeGuidance", { guidance_scale: 4, use_original_formulation: true })
    expect((original.chain.get("cfg") as unknown as { options: { scale: number } }).options.scale).toBe(5)
    expect(original.notes.join(" ")).toMatch(/scale: 5/)
    expect(guidanceFromGuiderConfig("ClassifierFreeGuidance", { enabled: false }).chain.middlewares).toEqual([])
    expect(guidanceFromGuiderConfig("ClassifierFreeGuidance", { start: 0.5, stop: 0.5 }).chain.middlewares).toEqual([])
    expect(guidanceFromGuiderConfig("ClassifierFreeGuidance", { guidance_scale: 1 }).chain.middlewares).toEqual([])
    expect(() => guidanceFromGuiderConfig("ClassifierFreeGuidance", { guidance_scale: 0.5 })).toThrow(/below 1 as off/)
  })

  it("maps the guidance-family guiders with their options (camelCase, window from start/stop)", () => {
    const apg = guidanceFromGuiderConfig("AdaptiveProjectedGuidance", saved("AdaptiveProjectedGuidance", {
      guidance_scale: 10, adaptive_projected_guidance_momentum: -0.5, adaptive_projected_guidance_rescale: 15, adaptive_projected_guidance_norm_dim: null,
      eta: 0, guidance_rescale: 0, use_original_formulation: false, start: 0, stop: 0.8, enabled: true,
    }))
    expect(json(apg.chain.get("apg"))).toEqual({
      name: "apg", scale: 10, momentum: -0.5, normThreshold: 15, normDim: null, eta: 0, rescale: 0, useOriginalFormulation: false,
      formulation: "diffusers", window: [0, 0.8], enabled: true,
    })
    expect(json(guidanceFromGuiderConfig("ClassifierFreeZeroStarGuidance", { guidance_scale: 4, zero_init_steps: 2 }).chain.get("cfg-zero-star")))
      .toMatchObject({ scale: 4, zeroInitSteps: 2, window: [0, 1] })
    expect(json(guidanceFromGuiderConfig("TangentialClassifierFreeGuidance", { guidance_scale: 6, guidance_rescale: 0.5 }).chain.get("tcfg")))
      .toMatchObject({ scale: 6, rescale: 0.5 })
    expect(json(guidanceFromGuiderConfig("MagnitudeAwareGuidance", {}).chain.get("mambo"))).toMatchObject({ scale: 10, alpha: 8 })
    expect(json(guidanceFromGuiderConfig("FrequencyDecoupledGuidance", {
      guidance_scales: [10, 5], guidance_rescale: [0.1, 0.2], parallel_weights: 0.5, start: [0, 0.1], stop: 1, guidance_rescale_space: "freq", upcast_to_double: false,
    }).chain.get("fdg"))).toEqual({
      name: "fdg", scales: [10, 5], rescale: [0.1, 0.2], parallelWeights: [0.5, 0.5], useOriginalFormulation: false,
      window: [[0, 1], [0.1, 1]], rescaleSpace: "freq", upcastToDouble: false, enabled: true,
    })
    expect(json(guidanceFromGuiderConfig("TangentialClassifierFreeGuidance", { start: 0.3, stop: 0.3 }).chain.get("tcfg"))).toMatchObject({ enabled: false })
  })

  it("maps PerturbedAttentionGuidance to cfg + pag on every self-attention of the given blocks, starting one step later", async () => {
    const { chain, notes } = guidanceFromGuiderConfig("PerturbedAttentionGuidance", saved("PerturbedAttentionGuidance", {
      guidance_scale: 5, perturbed_guidance_scale: 3, perturbed_guidance_start: 0.1, perturbed_guidance_stop: 0.5,
      perturbed_guidance_layers: null, perturbed_guidance_config: { indices: [1], fqn: "transformer_blocks", skip_attention: false, skip_attention_scores: true, skip_ff: false, dropout: 1 },
      guidance_rescale: 0, use_original_formulation: false, start: 0, stop: 1, enabled: true,
    }))
    expect(chain.middlewares.map((m) => m.name)).toEqual(["cfg", "pag"])
    const pattern = new RegExp(chain.hooks[0]!.targets[0]!)
    expect(["transformer_blocks.1.attn1", "transformer_blocks.10.attn1", "x.transformer_blocks.1.attn1"].map((p) => pattern.test(p))).toEqual([true, false, false])
    expect(notes.join(" ")).toMatch(/transformer_blocks/)
    // diffusers: int(0.1·10) = 1 < i < 5; pagkit's own window would include step 1
    expect(Array.from({ length: 10 }, (_, i) => chain.plan(at(i), { batchSize: 1 }).branches.map((b) => b.name).includes("pag")))
      .toEqual([false, false, true, true, true, false, false, false, false, false])
    const fake = createFakeDenoiser({ rowShape: [3] })
    await chain.step(at(2), { batchSize: 1, denoise: fake.denoise })
    expect(fake.rows.map((r) => r.branch)).toEqual(["uncond", "cond", "pag"])
  })

  it("maps PAG-only (CFG off) to pag on the cond inputs, noting the guider bug it does not copy", () => {
    const { chain, notes } = guidanceFromGuiderConfig("PerturbedAttentionGuidance", { guidance_scale: 1, perturbed_guidance_layers: [2, 3], perturbed_guidance_start: 0, perturbed_guidance_stop: 1 })
    expect(chain.middlewares.map((m) => m.name)).toEqual(["pag"])
    expect(chain.hooks[0]!.targets).toHaveLength(2)
    expect(chain.plan(at(3), { batchSize: 1 }).branches.map((b) => [b.name, b.conditioning])).toEqual([["cond", "cond"], ["pag", "cond"]])
    expect(notes.join(" ")).toMatch(/bug not copied/)
  })

  it("maps SEG and SLG (layers required, as in diffusers) to cfg + seg / slg with the guider's window", () => {
    for (const name of ["SmoothedEnergyGuidance", "SkipLayerGuidance"]) {
      expect(() => guidanceFromGuiderConfig(name, {})).toThrow(GuiderConfigError) // no layers: diffusers raises too
    }
    const slgChain = guidanceFromGuiderConfig("SkipLayerGuidance", saved("SkipLayerGuidance", { guidance_scale: 7, skip_layer_guidance_layers: [7, 8] })).chain
    expect(slgChain.toJSON()).toEqual({
      guidance: [
        { name: "cfg", scale: 7, rescale: 0, window: [0, 1] },
        { name: "slg", scale: 2.8, layers: ["^(?:blocks|transformer_blocks|single_transformer_blocks|layers|visual_transformer_blocks|temporal_transformer_blocks)\\.7$", "^(?:blocks|transformer_blocks|single_transformer_blocks|layers|visual_transformer_blocks|temporal_transformer_blocks)\\.8$"], window: [0.01, 0.2], windowRule: "guider", useOriginalFormulation: false },
      ],
    })
    const segMapping = guidanceFromGuiderConfig("SmoothedEnergyGuidance", { seg_guidance_scale: 3, seg_blur_sigma: 10, seg_guidance_layers: 2 })
    expect(segMapping.chain.toJSON().guidance[1]).toMatchObject({ name: "seg", scale: 3, blurSigma: 10, blurThresholdInf: 9999, window: [0, 1] })
    expect(segMapping.notes.join(" ")).toMatch(/never applies its hook/)
    expect(() => guidanceFromGuiderConfig("SkipLayerGuidance", { skip_layer_config: { indices: [1], skip_ff: false } })).toThrow(/skip_ff=false is not mapped yet/)
    expect(() => guidanceFromGuiderConfig("FancyGuidance", {})).toThrow(/unknown guider class "FancyGuidance"; pagkit maps ClassifierFreeGuidance/)
    expect(() => guidanceFromGuiderConfig("MagnitudeAwareGuidance", { alpha: 2, beta: 3 })).toThrow(/unknown key\(s\) "beta"/)
    expect(() => guidanceFromGuiderConfig("MagnitudeAwareGuidance", saved("ClassifierFreeGuidance", {}))).toThrow(/_class_name "ClassifierFreeGuidance"/)
    expect(() => guidanceFromGuiderConfig("MagnitudeAwareGuidance", { alpha: "8" })).toThrow(/"alpha" should be a finite number/)
    expect(() => guidanceFromGuiderConfig("AutoGuidance", {})).toThrow(expect.objectContaining({ code: "GUIDER_NOT_SUPPORTED" }))
    expect(() => guidanceFromGuiderConfig("TangentialClassifierFreeGuidance", { eta: 1 })).toThrow(expect.objectContaining({ code: "GUIDER_CONFIG_INVALID" }))
  })
})
