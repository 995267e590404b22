// The Beta distribution's quantile function (scipy.stats.beta.ppf), for `use_beta_sigmas`.
// Regularized incomplete beta by Lentz's continued fraction, inverted by bisection to full double precision.

const LANCZOS = [
  57.1562356658629235, -59.5979603554754912, 14.1360979747417471, -0.491913816097620199, 0.339946499848118887e-4,
  0.465236289270485756e-4, -0.983744753048795646e-4, 0.158088703224912494e-3, -0.210264441724104883e-3,
  0.217439618115212643e-3, -0.16431810653676389e-3, 0.844182239838527433e-4, -0.261908384015814087e-4,
  0.368991826595316234e-5,
]

/** `ln Γ(x)` for x > 0 (Lanczos, relative error ~1e-15). */
export function logGamma(x: number): number {
  let y = x
  let tmp = x + 5.2421875
  tmp = (x + 0.5) * Math.log(tmp) - tmp
  let ser = 0.999999999999997092
  for (const c of LANCZOS) ser += c / ++y
  return tmp + Math.log((2.5066282746310005 * ser) / x)
}

function betaContinuedFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300
  const qab = a + b
  const qap = a + 1
  const qam = a - 1
  let c = 1
  let d = 1 - (qab * x) / qap
  if (Math.abs(d) < tiny) d = tiny
  d = 1 / d
  let h = d
  for (let m = 1; m <= 1000; m++) {
    const m2 = 2 * m
    let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2))
    d = 1 + aa * d
    if (Math.abs(d) < tiny) d = tiny
    c = 1 + aa / c
    if (Math.abs(c) < tiny) c = tiny
    d = 1 / d
    h *= d * c
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2))
    d = 1 + aa * d
    if (Math.abs(d) < tiny) d = tiny
    c = 1 + aa / c
    if (Math.abs(c) < tiny) c = tiny
    d = 1 / d
    const del = d * c
    h *= del
    if (Math.abs(del - 1) < 1e-16) break
  }
  return h
}

/** Regularized incomplete beta `I_x(a, b)` (the Beta distribution's CDF). */
export function regularizedIncompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0
  if (x >= 1) return 1
  const logFront = logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log1p(-x)
  const front = Math.exp(logFront)
  if (x < (a + 1) / (a + b + 2)) return (front * betaContinuedFraction(a, b, x)) / a
  return 1 - (front * betaContinuedFraction(b, a, 1 - x)) / b
}

/** `scipy.stats.beta.ppf(q, a, b)`: the x in [0, 1] with `I_x(a, b) = q`. */
export function betaPpf(q: number, a: number, b: number): number {
  if (q <= 0) return 0
  if (q >= 1) return 1
  let lo = 0
  let hi = 1
  for (let i = 0; i < 200 && hi - lo > 0; i++) {
    const mid = 0.5 * (lo + hi)
    if (mid === lo || mid === hi) break
    if (regularizedIncompleteBeta(mid, a, b) < q) lo = mid
    else hi = mid
  }
  return 0.5 * (lo + hi)
}
