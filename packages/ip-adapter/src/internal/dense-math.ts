// Row-major float64 building blocks of the Plus image projection (torch semantics, float64 accumulation):
// `nn.Linear` (y = x·Wᵀ + b), `nn.LayerNorm` (biased variance, eps inside the square root), exact GELU (erf).

/**
 * `y[r, o] = Σ_k x[r, k] · w[o, k] (+ b[o])` for `rows` rows of width `inDim`; w is torch `[out, in]`.
 * Rows are taken four at a time so each weight row is read once per four rows (the weights, not the activations,
 * are what does not fit in cache).
 */
export function linear(x: Float64Array, rows: number, w: Float32Array, inDim: number, b?: Float32Array): Float64Array {
  const outDim = w.length / inDim
  const y = new Float64Array(rows * outDim)
  let r = 0
  for (; r + 3 < rows; r += 4) {
    const x0 = r * inDim
    const x1 = x0 + inDim
    const x2 = x1 + inDim
    const x3 = x2 + inDim
    for (let o = 0; o < outDim; o++) {
      const wo = o * inDim
      let a0 = 0
      let a1 = 0
      let a2 = 0
      let a3 = 0
      for (let k = 0; k < inDim; k++) {
        const wk = w[wo + k]!
        a0 += x[x0 + k]! * wk
        a1 += x[x1 + k]! * wk
        a2 += x[x2 + k]! * wk
        a3 += x[x3 + k]! * wk
      }
      const bias = b === undefined ? 0 : b[o]!
      y[r * outDim + o] = a0 + bias
      y[(r + 1) * outDim + o] = a1 + bias
      y[(r + 2) * outDim + o] = a2 + bias
      y[(r + 3) * outDim + o] = a3 + bias
    }
  }
  for (; r < rows; r++) {
    const xo = r * inDim
    for (let o = 0; o < outDim; o++) {
      const wo = o * inDim
      let acc = 0
      for (let k = 0; k < inDim; k++) acc += x[xo + k]! * w[wo + k]!
      y[r * outDim + o] = acc + (b === undefined ? 0 : b[o]!)
    }
  }
  return y
}

/** LayerNorm over the last dimension (`width`) of `rows` rows. */
export function layerNorm(x: Float64Array, rows: number, width: number, gamma: Float32Array, beta: Float32Array, eps = 1e-5): Float64Array {
  const y = new Float64Array(rows * width)
  for (let r = 0; r < rows; r++) {
    const o = r * width
    let mean = 0
    for (let j = 0; j < width; j++) mean += x[o + j]!
    mean /= width
    let variance = 0
    for (let j = 0; j < width; j++) variance += (x[o + j]! - mean) ** 2
    variance /= width
    const inv = 1 / Math.sqrt(variance + eps)
    for (let j = 0; j < width; j++) y[o + j] = (x[o + j]! - mean) * inv * gamma[j]! + beta[j]!
  }
  return y
}

/**
 * erf(x) to double precision: W. J. Cody's rational Chebyshev approximations ("Rational Chebyshev approximations
 * for the error function", Math. Comp. 23, 1969), the coefficients used by most C libraries' `erf`.
 */
export function erf(x: number): number {
  const ax = Math.abs(x)
  if (ax < 0.5) {
    const t = x * x
    const top = (((0.185777706184603153 * t + 3.16112374387056560) * t + 113.864154151050156) * t + 377.485237685302021) * t + 3209.37758913846947
    const bottom = (((t + 23.6012909523441209) * t + 244.024637934444173) * t + 1282.61652607737228) * t + 2844.23683343917062
    return (x * top) / bottom
  }
  let erfc: number
  if (ax < 4) {
    const top =
      (((((((2.15311535474403846e-8 * ax + 0.564188496988670089) * ax + 8.88314979438837594) * ax + 66.1191906371416295) * ax + 298.635138197400131) * ax +
        881.952221241769090) * ax + 1712.04761263407058) * ax + 2051.07837782607147) * ax + 1230.33935479799725
    const bottom =
      (((((((ax + 15.7449261107098347) * ax + 117.693950891312499) * ax + 537.181101862009858) * ax + 1621.38957456669019) * ax + 3290.79923573345963) * ax +
        4362.61909014324716) * ax + 3439.36767414372164) * ax + 1230.33935480374942
    erfc = Math.exp(-ax * ax) * (top / bottom)
  } else {
    const z = 1 / (ax * ax)
    const top = ((((0.0163153871373020978 * z + 0.305326634961232344) * z + 0.360344899949804439) * z + 0.125781726111229246) * z + 0.0160837851487422766) * z + 6.58749161529837803e-4
    const bottom = ((((z + 2.56852019228982242) * z + 1.87295284992346725) * z + 0.527905102951428412) * z + 0.0605183413124413191) * z + 2.33520497626869185e-3
    erfc = (Math.exp(-ax * ax) / ax) * (1 / Math.sqrt(Math.PI) - (z * top) / bottom)
  }
  return x < 0 ? erfc - 1 : 1 - erfc
}

/** torch `F.gelu(x, approximate="none")` = x · ½ (1 + erf(x / √2)), in place. */
export function geluInPlace(x: Float64Array): Float64Array {
  for (let i = 0; i < x.length; i++) x[i] = 0.5 * x[i]! * (1 + erf(x[i]! * Math.SQRT1_2))
  return x
}
