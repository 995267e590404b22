import { describe, expect, it } from "vitest"
import { workerRequest } from "./runner.js"
import type { JobInput } from "./job-schema.js"

const job: JobInput = {
  task: "text2image", prompt: "a red circle", seed: 7, steps: 8, guidanceScale: 5, pagScale: 3,
  pagLayers: ["mid"], width: 64, height: 64, scheduler: "EulerDiscreteScheduler",
}

describe("workerRequest", () => {
  it("enables PAG with the job's layers and scale, and passes the call as data", () => {
    expect(workerRequest(job, "/models/x")).toEqual({
      pipeline: { task: "text2image", modelDir: "/models/x", enablePag: true, pagAppliedLayers: ["mid"], scheduler: "EulerDiscreteScheduler" },
      call: { prompt: "a red circle", numInferenceSteps: 8, guidanceScale: 5, seed: 7, width: 64, height: 64, pagScale: 3 },
    })
  })

  it("builds the PAG-off half of a pair without PAG", () => {
    const request = workerRequest({ ...job, pagScale: 0 }, "/m")
    expect(request.pipeline.enablePag).toBe(false)
    expect(request.call).not.toHaveProperty("pagScale")
  })

  it("decodes base64 images, drops width/height for image2image and keeps strength", () => {
    const png = Buffer.from("png-bytes").toString("base64")
    const img2img = workerRequest({ ...job, task: "image2image", image: png, strength: 0.5 }, "/m")
    expect(img2img.call).not.toHaveProperty("width")
    expect(Buffer.from(img2img.call.image as Uint8Array).toString()).toBe("png-bytes")
    expect(img2img.call.strength).toBe(0.5)
    const inpaint = workerRequest({ ...job, task: "inpainting", image: png, mask: png, strength: 0.9 }, "/m")
    expect(inpaint.call).toMatchObject({ width: 64, height: 64, strength: 0.9 })
    expect(Buffer.from(inpaint.call.maskImage as Uint8Array).toString()).toBe("png-bytes")
  })
})
