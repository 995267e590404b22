// Wall-clock timing of interleaved variants, and memory snapshots.
import { performance } from "node:perf_hooks"

/** How many runs to make. */
export interface RunPlan {
  /** Untimed runs of each variant first (session warm-up, JIT). */
  readonly warmup: number
  /** Timed runs of each variant. */
  readonly runs: number
}

/** Times one call of `fn` in milliseconds. */
export async function timeOnce(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now()
  await fn()
  return performance.now() - start
}

/**
 * Runs every variant `warmup` times, then `runs` rounds of one timed call of each variant in turn, so that
 * drift (thermal, other load) hits all variants alike. Returns milliseconds per variant, in run order.
 * @example
 * const ms = await timeInterleaved({ raw: () => raw.run(feeds), pagkit: () => hooked.run(feeds) }, { warmup: 3, runs: 15 })
 */
export async function timeInterleaved<K extends string>(
  variants: Readonly<Record<K, () => Promise<unknown>>>,
  plan: RunPlan,
): Promise<Record<K, number[]>> {
  const names = Object.keys(variants) as K[]
  for (let i = 0; i < plan.warmup; i++) for (const name of names) await variants[name]()
  const samples = Object.fromEntries(names.map((name) => [name, [] as number[]])) as Record<K, number[]>
  for (let i = 0; i < plan.runs; i++) for (const name of names) samples[name].push(await timeOnce(variants[name]))
  return samples
}

/** Process memory in bytes. */
export interface MemorySnapshot {
  /** Resident set size now. */
  readonly rss: number
  /** Peak resident set size of the process so far (`getrusage` maxrss). */
  readonly maxRss: number
  /** V8 heap in use. */
  readonly heapUsed: number
  /** Memory of ArrayBuffers and Buffers held by JS (outside the V8 heap). */
  readonly arrayBuffers: number
}

/**
 * Collects garbage when the process runs with `--expose-gc` (children do), letting finalizers of freed buffers
 * run between collections, then snapshots memory.
 */
export async function memorySnapshot(): Promise<MemorySnapshot> {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc !== undefined) {
    for (let i = 0; i < 3; i++) {
      gc()
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  }
  const usage = process.memoryUsage()
  return {
    rss: usage.rss,
    maxRss: process.resourceUsage().maxRSS * 1024,
    heapUsed: usage.heapUsed,
    arrayBuffers: usage.arrayBuffers,
  }
}

/** Growth from `before` to `after`, field by field. */
export function memoryGrowth(before: MemorySnapshot, after: MemorySnapshot): MemorySnapshot {
  return {
    rss: after.rss - before.rss,
    maxRss: after.maxRss - before.maxRss,
    heapUsed: after.heapUsed - before.heapUsed,
    arrayBuffers: after.arrayBuffers - before.arrayBuffers,
  }
}
