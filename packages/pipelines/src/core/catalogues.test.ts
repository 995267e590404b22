import { describe, expect, it } from "vitest"
import { IDENTITY_ATTENTION as PAG_KIND, pag } from "@pagkit/guidance-pag"
import { apg } from "@pagkit/guidance-apg"
import { cfg } from "@pagkit/guidance-cfg"
import { seg } from "@pagkit/guidance-seg"
import { slg } from "@pagkit/guidance-slg"
import { cfgZeroStar } from "@pagkit/guidance-cfg-zero-star"
import { fdg } from "@pagkit/guidance-fdg"
import { mambo } from "@pagkit/guidance-mambo"
import { tcfg } from "@pagkit/guidance-tcfg"
import { IDENTITY_ATTENTION } from "@pagkit/onnx"
import { defaultGuidanceCatalogue, defaultHookKinds, kindsByName } from "./catalogues.js"

describe("the default catalogues", () => {
  it("have a hook kind for every kind a shipped middleware declares", () => {
    expect(PAG_KIND).toBe(IDENTITY_ATTENTION)
    const kinds = kindsByName(defaultHookKinds())
    const declared = [pag({ scale: 3, layers: ["mid"] }), cfg({ scale: 5 }), seg({ layers: ["mid"] }), slg({ layers: ["mid"] })].flatMap((m) => m.hooks ?? []).map((h) => h.kind)
    for (const kind of declared) expect(kinds.has(kind), `hook kind "${kind}" is in defaultHookKinds()`).toBe(true)
  })
  it("build every shipped strategy back from its JSON", () => {
    for (const middleware of [
      cfg({ scale: 7, rescale: 0.3 }),
      pag({ scale: 2, layers: ["mid"], adaptiveScale: 0.01 }),
      seg({ scale: 3, blurSigma: 10, layers: ["mid"] }),
      slg({ scale: 2.8, layers: [7, 8] }),
      apg({ scale: 10, eta: 0, momentum: -0.5, normDim: -1 }),
      cfgZeroStar({ scale: 4, zeroInitSteps: 2 }),
      tcfg({ scale: 6, window: [0, 0.5] }),
      fdg({ scales: [10, 5, 2], parallelWeights: 0.5 }),
      mambo({ scale: 10, alpha: 4 }),
    ]) {
      const { name, ...options } = middleware.toJSON!()
      const factory = defaultGuidanceCatalogue[name]
      expect(factory, `catalogue has "${name}"`).toBeDefined()
      expect(factory!(options).toJSON!()).toEqual(middleware.toJSON!())
    }
  })
  it("lets a later catalogue replace a kind of the same name", () => {
    const mine = { ...defaultHookKinds()[0]!, version: 99 }
    expect(kindsByName(defaultHookKinds(), [mine]).get(IDENTITY_ATTENTION)?.version).toBe(99)
  })
})
