import { describe, expect, it } from "vitest"
import { guidance } from "@pagkit/guidance"
import { createScheduler } from "@pagkit/schedulers"
import { Tensor, TorchGenerator } from "@pagkit/tensor"
import { runDenoisingLoop } from "./denoising-loop.js"
import { AbortedError, InvalidOptionError, NonFiniteError } from "./errors.js"

/** A loop over 4 Euler steps whose denoiser returns `values(step)` everywhere. */
function loop(values: (step: number) => number, options: { allowNonFinite?: boolean; eta?: number; config?: Record<string, unknown>; signal?: AbortSignal; onStep?: (step: number) => void } = {}) {
  const scheduler = createScheduler({ _class_name: "EulerDiscreteScheduler", ...options.config })
  scheduler.setTimesteps(4)
  return runDenoisingLoop({
    scheduler,
    chain: guidance(),
    timesteps: [...scheduler.timesteps],
    latents: Tensor.zeros([1, 4, 4, 4], "float32"),
    generator: new TorchGenerator(0),
    denoise: async (_pass, input, ctx) => new Tensor("float32", new Float32Array(input.size).fill(values(ctx.stepIndex)), input.shape),
    ...(options.allowNonFinite === undefined ? {} : { allowNonFinite: options.allowNonFinite }),
    ...(options.eta === undefined ? {} : { eta: options.eta }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    onStep: (event) => options.onStep?.(event.step),
  })
}

describe("runDenoisingLoop's non-finite check (issue 16, item 2)", () => {
  it("stops at the step whose prediction is NaN, naming it and the likely cause", async () => {
    const run = loop((step) => (step === 2 ? Number.NaN : 0.1))
    await expect(run).rejects.toBeInstanceOf(NonFiniteError)
    await expect(run).rejects.toMatchObject({ code: "NON_FINITE", step: 2, message: expect.stringMatching(/model prediction at step 3 of 4[\s\S]*64 NaN of 64 values[\s\S]*guidance scales/) })
  })

  it("names ±Infinity separately, and the scheduler step when the prediction was finite", async () => {
    await expect(loop((step) => (step === 0 ? Number.POSITIVE_INFINITY : 0))).rejects.toThrow(/64 \+Infinity of 64/)
    await expect(loop(() => 3e38)).rejects.toThrow(/after the scheduler step at step 1 of 4[\s\S]*prediction was finite/)
  })

  it("lets everything through with allowNonFinite", async () => {
    const latents = await loop(() => Number.NaN, { allowNonFinite: true })
    expect(Number.isNaN(latents.data[0])).toBe(true)
  })

  it("refuses a non-finite or negative eta before the first step", async () => {
    for (const eta of [Number.NaN, -0.5, Number.POSITIVE_INFINITY]) await expect(loop(() => 0, { eta })).rejects.toBeInstanceOf(InvalidOptionError)
    await expect(loop(() => 0, { eta: 0 })).resolves.toBeInstanceOf(Tensor)
  })

  it("an abort landing during the last step's callback is an AbortedError (not a run that decodes)", async () => {
    const controller = new AbortController()
    const run = loop(() => 0, { signal: controller.signal, onStep: (step) => step === 3 && controller.abort() })
    await expect(run).rejects.toBeInstanceOf(AbortedError)
    await expect(run).rejects.toThrow(/after its last step \(4 of 4\)/)
  })
})
