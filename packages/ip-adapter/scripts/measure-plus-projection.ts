// Times the IP-Adapter Plus projection at ip-adapter-plus_sdxl_vit-h sizes (257 × 1280 hidden states, 16 queries,
// 20 heads of 64, depth 4, ff × 4, output 2048) with random weights: the JS float64 path vs the onnxruntime graph,
// and their relative L2 difference. Run: pnpm exec tsx packages/ip-adapter/scripts/measure-plus-projection.ts [threads]
import { Tensor, relativeL2 } from "@pagkit/tensor"
import { PlusProjectionSession, projectPlusHiddenStates } from "../src/index.js"
import type { PlusProjectionBlock, PlusProjectionWeights } from "../src/index.js"

let seed = 1
const rand = (): number => {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0
  return seed / 2 ** 32 - 0.5
}
const randoms = (n: number, scale: number): Float32Array => Float32Array.from({ length: n }, () => rand() * scale)
const norm = (n: number): { weight: Float32Array; bias: Float32Array } => ({ weight: randoms(n, 0.2).map((v) => 1 + v), bias: randoms(n, 0.1) })

const [embedDim, seq, hidden, queries, heads, headDim, depth, outputDim] = [1280, 257, 1280, 16, 20, 64, 4, 2048]
const ffDim = 4 * hidden
const inner = heads * headDim
const block = (): PlusProjectionBlock => ({
  ln0: norm(hidden), ln1: norm(hidden),
  toQ: randoms(inner * hidden, 2 / Math.sqrt(hidden)), toK: randoms(inner * hidden, 2 / Math.sqrt(hidden)),
  toV: randoms(inner * hidden, 2 / Math.sqrt(hidden)), toOut: randoms(hidden * inner, 2 / Math.sqrt(inner)),
  ffNorm: norm(hidden), ffIn: randoms(ffDim * hidden, 2 / Math.sqrt(hidden)), ffOut: randoms(hidden * ffDim, 2 / Math.sqrt(ffDim)),
})
const weights: PlusProjectionWeights = {
  latents: randoms(queries * hidden, 1), projIn: { weight: randoms(hidden * embedDim, 2 / Math.sqrt(embedDim)), bias: randoms(hidden, 0.1) },
  projOut: { weight: randoms(outputDim * hidden, 2 / Math.sqrt(hidden)), bias: randoms(outputDim, 0.1) }, normOut: norm(outputDim),
  blocks: Array.from({ length: depth }, block), numQueries: queries, embedDim, hiddenDim: hidden, outputDim, heads, headDim, ffDim,
}
const hiddenStates = new Tensor("float32", randoms(seq * embedDim, 4), [1, seq, embedDim])
const threads = process.argv[2] === undefined ? undefined : Number(process.argv[2])

let t = performance.now()
if (process.env["PROFILE_BUILD"] !== undefined) {
  const { encodeModel, createSession } = await import("@pagkit/onnx")
  const { plusProjectionModel } = await import("../src/index.js")
  const model = plusProjectionModel(weights)
  const a = performance.now()
  const bytes = encodeModel(model)
  const b = performance.now()
  for (const level of ["basic", "all"] as const) {
    const c = performance.now()
    const s = await createSession(bytes, { graphOptimizationLevel: level })
    console.log(JSON.stringify({ level, modelMs: Math.round(a - t), encodeMs: Math.round(b - a), sessionMs: Math.round(performance.now() - c), mb: bytes.length / 1e6 }))
    await s.release()
  }
  process.exit(0)
}
const session = await PlusProjectionSession.create(weights, threads === undefined ? {} : { intraOpThreads: threads })
const build = performance.now() - t
await session.project(hiddenStates) // warm-up
const runs: number[] = []
let fast: Tensor<"float32"> | undefined
for (let i = 0; i < 3; i++) {
  t = performance.now()
  fast = await session.project(hiddenStates)
  runs.push(performance.now() - t)
}
t = performance.now()
const slow = projectPlusHiddenStates(weights, hiddenStates)
const js = performance.now() - t
console.log(JSON.stringify({
  sizes: { seq, embedDim, hidden, queries, heads, depth, ffDim, outputDim },
  onnxBuildMs: Math.round(build), onnxRunMs: runs.map(Math.round), jsMs: Math.round(js),
  relativeL2: relativeL2(fast!, slow),
}))
await session.release()
