// Measurements quoted in ../README.md. Run from packages/onnx:
//   node --expose-gc --import tsx scripts/measure.ts
import { readFile, stat } from "node:fs/promises"
import path from "node:path"
import { fileURLToPath } from "node:url"
import { Tensor, relativeL2, SafetensorsFile } from "@pagkit/tensor"
import { createSession, identityAttention, loadHookedModel, rewriteModel } from "../src/index.js"

const models = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../tiny-models/models")
const oracles = path.resolve(models, "../oracles")
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined)
const mb = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`

async function memory(): Promise<void> {
  const file = path.join(models, "variants/unet-controlnet/model.onnx")
  const data = await stat(path.join(models, "variants/unet-controlnet/model.onnx_data"))
  rewriteModel(new Uint8Array(await readFile(file)), [identityAttention()]) // warm up code paths
  gc()
  const before = process.memoryUsage()
  const bytes = new Uint8Array(await readFile(file))
  const rewritten = rewriteModel(bytes, [identityAttention()])
  gc()
  const after = process.memoryUsage()
  console.log(
    `rewrite unet-controlnet: model.onnx ${mb(bytes.length)}, model.onnx_data ${mb(data.size)}, hooked graph ${mb(rewritten.bytes.length)}; ` +
      `heap +${mb(after.heapUsed - before.heapUsed)}, external+arrayBuffers +${mb(after.external + after.arrayBuffers - before.external - before.arrayBuffers)}, RSS +${mb(after.rss - before.rss)}`,
  )
}

async function oracleInputs(): Promise<Record<string, Tensor>> {
  const file = await SafetensorsFile.open(path.join(oracles, "denoiser-sdxl-unet.safetensors"))
  const inputs: Record<string, Tensor> = {}
  for (const key of file.names) if (key.startsWith("in.")) inputs[key.slice(3)] = await file.read(key)
  await file.close()
  return inputs
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

async function timing(inputs: Record<string, Tensor>, runs: number): Promise<void> {
  const file = path.join(models, "tiny-sdxl/unet/model.onnx")
  // one intra-op thread each: less sensitive to other processes on a small machine
  const original = await createSession(file, { intraOpThreads: 1 })
  const hooked = await loadHookedModel(file, { hooks: [identityAttention()], intraOpThreads: 1 })
  const originalMs: number[] = []
  const hookedMs: number[] = []
  const time = async (run: () => Promise<unknown>, into: number[]): Promise<void> => {
    const start = performance.now()
    await run()
    into.push(performance.now() - start)
  }
  await original.run(inputs)
  await hooked.run(inputs)
  // alternate runs so both see the same machine noise
  for (let i = 0; i < runs; i++) {
    await time(() => original.run(inputs), originalMs)
    await time(() => hooked.run(inputs), hookedMs)
  }
  console.log(
    `tiny-sdxl UNet, batch 3, 32x32 latents, median of ${runs} alternating runs, 1 intra-op thread: original ${median(originalMs).toFixed(1)} ms, hooked with gates 0 ${median(hookedMs).toFixed(1)} ms`,
  )
  await original.release()
  await hooked.release()
}

async function gatesOff(inputs: Record<string, Tensor>): Promise<void> {
  for (const folder of ["tiny-sdxl/unet", "tiny-sdxl-shapes/unet", "variants/unet-dynamo", "variants/unet-fp16", "variants/unet-controlnet"]) {
    const file = path.join(models, folder, "model.onnx")
    const original = await createSession(file)
    const hooked = await loadHookedModel(file, { hooks: [identityAttention()] })
    const feeds: Record<string, Tensor> = { ...inputs }
    for (const info of original.inputs) {
      if (feeds[info.name] !== undefined) continue
      // ControlNet residuals: random values at the resolution each one is added at
      const channels = info.shape[1] as number
      const level = Number(/_(\d+)$/.exec(info.name)?.[1] ?? 9)
      const size = 32 / 2 ** (level >= 6 ? 2 : level >= 3 ? 1 : 0)
      const n = 3 * channels * size * size
      feeds[info.name] = new Tensor("float32", Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 0.1), [3, channels, size, size])
    }
    const a = (await original.run(feeds))["out_sample"]!
    const b = (await hooked.run(feeds))["out_sample"]!
    console.log(`gates 0 vs original, ${folder}: rel L2 ${relativeL2(b, a).toExponential(2)}`)
    await original.release()
    await hooked.release()
  }
}

await memory()
const inputs = await oracleInputs()
await gatesOff(inputs)
await timing(inputs, Number(process.env["RUNS"] ?? 20))
