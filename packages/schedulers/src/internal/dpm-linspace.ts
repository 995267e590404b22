// `torch.linspace(start, end, steps, dtype=torch.float32)` on CPU, bit for bit. aten's `linspace_kernel` computes
// `start + step·i` below the halfway index and `end - step·(steps - 1 - i)` above it, with a float32 step; the
// compiler contracts each of those into one fused multiply-add, so every value is rounded once. This matches the
// oracle tables (linear and scaled_linear betas, the EDM ramp) where a separately rounded product does not.
import { f32 } from "./dpm-math.js"

/**
 * float32 `torch.linspace` with fused multiply-add rounding. `step·i` is exact in double and the sum is exact for
 * ranges whose ends are within 2^29 of each other in magnitude, so rounding the double sum once equals the FMA.
 */
export function torchLinspaceF32Fma(start: number, end: number, steps: number): Float32Array {
  const out = new Float32Array(steps)
  if (steps === 1) {
    out[0] = start
    return out
  }
  const s = f32(start)
  const e = f32(end)
  const step = f32(f32(e - s) / (steps - 1))
  const halfway = Math.floor(steps / 2)
  for (let i = 0; i < steps; i++) out[i] = i < halfway ? s + step * i : e - step * (steps - 1 - i)
  return out
}
