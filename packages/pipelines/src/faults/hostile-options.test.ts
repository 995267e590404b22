/**
 * Fault injection (issue 16, items 2, 6, 7): hostile call options on one loaded pipeline — each a pagkit error
 * with a literal code and a message saying what was expected — and aborts at random steps, which are always
 * `AbortedError` (also when the abort lands during the last step).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { PagkitError, Tensor } from "@pagkit/tensor"
import { tinyModelPath } from "@pagkit/tiny-models"
import { AbortedError, AutoPipelineForImage2Image, AutoPipelineForText2Image } from "../index.js"
import type { SdxlText2ImagePipeline } from "../index.js"

let pipe: SdxlText2ImagePipeline
const call = { prompt: "a red circle", height: 64, width: 64, numInferenceSteps: 3, seed: 0 } as const

beforeAll(async () => {
  pipe = await AutoPipelineForText2Image.fromPretrained(tinyModelPath("tiny-sdxl"), { enablePag: true, pagAppliedLayers: ["mid"] })
})
afterAll(async () => {
  await pipe?.model.release()
})

async function thrown(run: () => Promise<unknown>): Promise<PagkitError> {
  const error = await run().then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error, "expected a pagkit error, the run finished").toBeInstanceOf(PagkitError)
  return error as PagkitError
}

describe("hostile option values", () => {
  it.each([
    ["prompt: []", { prompt: [] }, "MODEL_INPUT_INVALID", /empty prompt array|prompt is an empty array/],
    ["prompt: 123", { prompt: 123 }, "MODEL_INPUT_INVALID", /prompt (must be|as) a string or an array of strings/],
    ["prompt: [\"a\", 5]", { prompt: ["a", 5] }, "MODEL_INPUT_INVALID", /prompt\[1\] must be a string, found number 5/],
    ["negativePrompt: {}", { negativePrompt: {}, guidanceScale: 5 }, "MODEL_INPUT_INVALID", /negativePrompt must be a string/],
    ["height and width 100000", { height: 100000, width: 100000 }, "IMAGE_SIZE_INVALID", /100000 × 100000 pixels, too large[\s\S]*at most 16384/],
    ["guidanceScale 3e38", { guidanceScale: 3e38 }, "GUIDANCE_INVALID_OPTIONS", /below 1000000[\s\S]*overflows/],
    ["pagScale 1e7", { pagScale: 1e7 }, "GUIDANCE_INVALID_OPTIONS", /below 1000000/],
  ] as const)("%s → %s", async (_, options, code, message) => {
    const error = await thrown(() => pipe.run({ ...call, ...(options as object) } as never))
    expect(error.code).toBe(code)
    expect(error.message).toMatch(message)
  })

  it.each([Number.NaN, -1, Number.POSITIVE_INFINITY])("DDIM eta %s → INVALID_OPTION before any step", async (eta) => {
    const ddim = AutoPipelineForText2Image.fromPipe(pipe, { scheduler: "DDIMScheduler" })
    const steps: number[] = []
    const error = await thrown(() => ddim.run({ ...call, eta, onStep: (e) => void steps.push(e.step) }))
    expect(error).toMatchObject({ name: "InvalidOptionError", code: "INVALID_OPTION" })
    expect(error.message).toMatch(/eta must be a finite number ≥ 0/)
    expect(steps).toEqual([])
  })

  it("a 1×1 input image names its real size", async () => {
    const img2img = AutoPipelineForImage2Image.fromPipe(pipe)
    const error = await thrown(() => img2img.run({ prompt: "x", image: Tensor.zeros([1, 3, 1, 1], "float32"), strength: 0.5, numInferenceSteps: 2 }))
    expect(error.code).toBe("IMAGE_SIZE_INVALID")
    expect(error.message).toMatch(/1 × 1 pixels[\s\S]*smaller than the model's minimum[\s\S]*rounds down to 0 × 0/)
  })
})

describe("aborts at random steps", () => {
  // Seeded, so a failure can be replayed: every step of a 4-step run, the last one included, several times.
  const stepsToAbort = [0, 1, 2, 3, 3, 2, 0, 3]
  it.each(stepsToAbort.map((step, i) => [i, step]))("run %i: abort during step %i's callback → AbortedError", async (_, abortAt) => {
    const controller = new AbortController()
    const seen: number[] = []
    const error = await thrown(() =>
      pipe.run({ ...call, numInferenceSteps: 4, signal: controller.signal, onStep: (e) => {
        seen.push(e.step)
        if (e.step === abortAt) controller.abort()
      } }),
    )
    expect(error).toBeInstanceOf(AbortedError)
    expect(error.code).toBe("ABORTED")
    expect(seen.at(-1)).toBe(abortAt)
    expect(error.message).toMatch(abortAt === 3 ? /aborted after its last step \(4 of 4\), before decoding/ : new RegExp(`aborted after step ${abortAt + 1} of 4`))
  })
})
