// Test-only: the few Euler-discrete numbers (scaled_linear betas, leading spacing) the oracle cases use.

/** sigma(t) = sqrt((1 − ᾱ_t) / ᾱ_t) for SDXL's scaled_linear betas (0.00085 … 0.012, 1000 steps), in float32 steps. */
export function eulerSigma(t: number): number {
  const f = Math.fround
  const start = Math.sqrt(0.00085)
  const end = Math.sqrt(0.012)
  const n = 1000
  const step = f((end - start) / (n - 1))
  let cumprod = 1
  for (let i = 0; i <= t; i++) {
    const root = i < n / 2 ? f(f(start) + f(step * i)) : f(f(end) - f(step * (n - 1 - i)))
    const beta = f(root * root)
    cumprod = f(cumprod * f(1 - beta))
  }
  return Math.sqrt((1 - cumprod) / cumprod)
}
