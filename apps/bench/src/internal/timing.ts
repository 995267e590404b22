// Wall-clock and CPU timing of interleaved variants, and memory snapshots.
import { performance } from "node:perf_hooks"

/** How many runs to make. */
export interface RunPlan {
  /** Untimed runs of each variant first (session warm-up, JIT). */
  readonly warmup: number
  /** Timed runs of each variant. */
  readonly runs: number
}

/** Wall-clock and process CPU time (user + system, all threads) of a stretch of work, in milliseconds. */
export interface Timing {
  readonly wall: number
  readonly cpu: number
}

/** A clock reading to measure from with {@link since}. */
export interface Reading {
  readonly wall: number
  readonly cpu: number
}

/** Reads the wall clock and the process's CPU time. */
export function readClock(): Reading {
  const cpu = process.cpuUsage()
  return { wall: performance.now(), cpu: (cpu.user + cpu.system) / 1000 }
}

/** Time elapsed since `start`. */
export function since(start: Reading): Timing {
  const now = readClock()
  return { wall: now.wall - start.wall, cpu: now.cpu - start.cpu }
}

/** Times one call of `fn`. */
export async function timeOnce(fn: () => Promise<unknown>): Promise<Timing> {
  const start = readClock()
  await fn()
  return since(start)
}

/** Timings of repeated runs, wall and CPU milliseconds in run order. */
export interface Samples {
  readonly wall: number[]
  readonly cpu: number[]
}

/** Empty {@link Samples}. */
export function samples(): Samples {
  return { wall: [], cpu: [] }
}

/** Appends a timing to samples. */
export function record(into: Samples, timing: Timing): void {
  into.wall.push(timing.wall)
  into.cpu.push(timing.cpu)
}

/**
 * Runs every variant `warmup` times, then `runs` rounds of one timed call of each variant in turn, so that
 * drift (thermal, other load) hits all variants alike; round `i` starts at variant `i mod n`, so no variant always
 * runs right after the same other one.
 * @example
 * const t = await timeInterleaved({ raw: () => raw.run(feeds), pagkit: () => hooked.run(feeds) }, { warmup: 3, runs: 15 })
 * t.raw.wall // milliseconds of each timed raw call
 */
export async function timeInterleaved<K extends string>(
  variants: Readonly<Record<K, () => Promise<unknown>>>,
  plan: RunPlan,
): Promise<Record<K, Samples>> {
  const names = Object.keys(variants) as K[]
  for (let i = 0; i < plan.warmup; i++) for (const name of names) await variants[name]()
  const result = Object.fromEntries(names.map((name) => [name, samples()])) as Record<K, Samples>
  for (let i = 0; i < plan.runs; i++) {
    for (let j = 0; j < names.length; j++) {
      const name = names[(i + j) % names.length]!
      record(result[name], await timeOnce(variants[name]))
    }
  }
  return result
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
