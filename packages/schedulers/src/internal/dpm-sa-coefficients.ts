// SA-Solver's integration coefficients in float32: Lagrange basis polynomials in lambda times the exact
// integrals of lambda^k·e^(±lambda). Ported from diffusers `SASolverScheduler.lagrange_polynomial_coefficient`,
// `get_coefficients_exponential_negative`, `get_coefficients_exponential_positive` and `get_coefficients_fn`.
import { expF, f32 } from "./dpm-math.js"

/**
 * `lagrange_polynomial_coefficient`: row i holds the monomial coefficients (highest power first) of the Lagrange
 * basis polynomial that is 1 at `lambdas[i]` and 0 at the others. Up to four points.
 */
export function lagrangeCoefficients(lambdas: readonly number[]): number[][] {
  if (lambdas.length === 1) return [[1]]
  return lambdas.map((li, i) => {
    const others = lambdas.filter((_, j) => j !== i)
    let denominator = f32(li - others[0]!)
    for (const o of others.slice(1)) denominator = f32(denominator * f32(li - o))
    const [a, b, c] = others as [number, number | undefined, number | undefined]
    if (b === undefined) return [f32(1 / denominator), f32(-a / denominator)]
    if (c === undefined) {
      return [f32(1 / denominator), f32(f32(-a - b) / denominator), f32(f32(a * b) / denominator)]
    }
    const pairs = f32(f32(f32(a * b) + f32(a * c)) + f32(b * c))
    return [
      f32(1 / denominator),
      f32(f32(f32(-a - b) - c) / denominator),
      f32(pairs / denominator),
      f32(f32(f32(-a * b) * c) / denominator),
    ]
  })
}

/** `x^k` as torch computes `x ** k` for k = 2 (square) and 3 (cube) in float32. */
function powF(x: number, k: number): number {
  return k === 2 ? f32(x * x) : f32(f32(x * x) * x)
}

/** `get_coefficients_exponential_negative`: ∫ lambda^order · e^(-lambda) over [start, end] (noise prediction). */
export function exponentialNegative(order: number, start: number, end: number): number {
  const eEnd = expF(-end)
  const eSpan = expF(f32(end - start))
  const poly = (x: number): number => {
    if (order === 0) return 1
    if (order === 1) return f32(x + 1)
    if (order === 2) return f32(f32(f32(powF(x, 2)) + f32(2 * x)) + 2)
    return f32(f32(f32(powF(x, 3) + f32(3 * powF(x, 2))) + f32(6 * x)) + 6)
  }
  if (order === 0) return f32(eEnd * f32(eSpan - 1))
  return f32(eEnd * f32(f32(poly(start) * eSpan) - poly(end)))
}

/** `get_coefficients_exponential_positive`: ∫ lambda^order · e^((1+tau²)lambda) over [start, end] (data prediction). */
export function exponentialPositive(order: number, start: number, end: number, tau: number): number {
  const scale = 1 + tau ** 2
  const endCov = f32(scale * end)
  const startCov = f32(scale * start)
  const eEnd = expF(endCov)
  const eBack = expF(-f32(endCov - startCov))
  const poly = (x: number): number => {
    if (order === 1) return f32(x - 1)
    if (order === 2) return f32(f32(powF(x, 2) - f32(2 * x)) + 2)
    return f32(f32(f32(powF(x, 3) - f32(3 * powF(x, 2))) + f32(6 * x)) - 6)
  }
  if (order === 0) return f32(f32(eEnd * f32(1 - eBack)) / scale)
  return f32(f32(eEnd * f32(poly(endCov) - f32(poly(startCov) * eBack))) / scale ** (order + 1))
}

/** `get_coefficients_fn`: one coefficient per model output, for `order` = number of lambdas (1–4). */
export function saCoefficients(
  order: number,
  interval: { readonly start: number; readonly end: number },
  lambdas: readonly number[],
  options: { readonly tau: number; readonly predictX0: boolean },
): number[] {
  const lagrange = lagrangeCoefficients(lambdas)
  const integrals = Array.from({ length: order }, (_, j) =>
    options.predictX0
      ? exponentialPositive(order - 1 - j, interval.start, interval.end, options.tau)
      : exponentialNegative(order - 1 - j, interval.start, interval.end),
  )
  return Array.from({ length: order }, (_, i) => {
    let coefficient = 0
    for (let j = 0; j < order; j++) coefficient = f32(coefficient + f32(lagrange[i]![j]! * integrals[j]!))
    return coefficient
  })
}
