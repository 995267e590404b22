// Facts about the machine and runtime the numbers were measured on.
import os from "node:os"
import * as ort from "onnxruntime-node"
import { benchThreads } from "./config.js"

/** Where the bench ran. */
export interface MachineFacts {
  readonly cpu: string
  /** Logical CPUs Node sees. */
  readonly cores: number
  readonly memoryGiB: number
  readonly platform: string
  readonly node: string
  readonly onnxruntime: string
  /** 1-minute load average when the bench started (other work on the machine skews timings). */
  readonly loadAverage: number
  /** Intra-op threads of every session (`--threads`), or onnxruntime's default. */
  readonly threads: number | "default"
  /** ISO time of the run. */
  readonly date: string
}

/** CPU model, core count, memory, platform, Node and onnxruntime-node versions. */
export function machineFacts(): MachineFacts {
  const cpus = os.cpus()
  return {
    cpu: cpus[0]?.model.trim() ?? "unknown",
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    platform: `${os.platform()} ${os.arch()} ${os.release()}`,
    node: process.version,
    onnxruntime: ort.env.versions.node ?? ort.env.versions.common,
    loadAverage: Math.round((os.loadavg()[0] ?? 0) * 100) / 100,
    threads: benchThreads() ?? "default",
    date: new Date().toISOString(),
  }
}
