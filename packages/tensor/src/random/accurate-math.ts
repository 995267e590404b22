/**
 * `log`, `sin` and `cos` of doubles, correctly rounded in all but rare cases, to match glibc's libm
 * (which torch's float64 kernels call) more closely than V8's `Math` functions, which are off by
 * one ulp on ~10 % of arguments. Evaluated in double-double arithmetic (Dekker / Knuth error-free
 * transforms), about 2^-100 relative error before the final rounding.
 */

// ---- double-double helpers; results come back through these two registers ----
let hiOut = 0
let loOut = 0

const SPLITTER = 134217729 // 2^27 + 1

/** Exact product a*b = hiOut + loOut (Dekker). */
function twoProd(a: number, b: number): void {
  const p = a * b
  let t = SPLITTER * a
  const ah = t - (t - a)
  const al = a - ah
  t = SPLITTER * b
  const bh = t - (t - b)
  const bl = b - bh
  hiOut = p
  loOut = ah * bh - p + ah * bl + al * bh + al * bl
}

/** (ah + al) * (bh + bl) as a normalized double-double in hiOut/loOut. */
function ddMul(ah: number, al: number, bh: number, bl: number): void {
  twoProd(ah, bh)
  const hi = hiOut
  const lo = loOut + (ah * bl + al * bh)
  hiOut = hi + lo
  loOut = lo - (hiOut - hi)
}

/** (ah + al) + (bh + bl) as a normalized double-double in hiOut/loOut. */
function ddAdd(ah: number, al: number, bh: number, bl: number): void {
  const s = ah + bh
  const bv = s - ah
  const e = ah - (s - bv) + (bh - bv) + al + bl
  hiOut = s + e
  loOut = e - (hiOut - s)
}

/** (ah + al) / (bh + bl) as a double-double in hiOut/loOut. */
function ddDiv(ah: number, al: number, bh: number, bl: number): void {
  const q1 = ah / bh
  ddMul(q1, 0, bh, bl)
  ddAdd(ah, al, -hiOut, -loOut)
  const q2 = hiOut / bh
  hiOut = q1 + q2
  loOut = q2 - (hiOut - q1)
}

// ---- log ----

const LN2_HI = 0.6931471805599453 // ln 2 rounded to double
const LN2_LO = 2.3190468138462996e-17 // ln 2 - LN2_HI
const ATANH_TERMS = 24
/** 1 / (2n + 1) for n = 1 .. ATANH_TERMS, as double-doubles. */
const INV_ODD_HI = new Float64Array(ATANH_TERMS + 1)
const INV_ODD_LO = new Float64Array(ATANH_TERMS + 1)
for (let n = 1; n <= ATANH_TERMS; n++) {
  ddDiv(1, 0, 2 * n + 1, 0)
  INV_ODD_HI[n] = hiOut
  INV_ODD_LO[n] = loOut
}

const scratchF64 = new Float64Array(1)
const scratchU32 = new Uint32Array(scratchF64.buffer)
const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1
const HI_WORD = littleEndian ? 1 : 0

/** Natural logarithm of a positive finite double (glibc `log`). */
export function accurateLog(x: number): number {
  if (!(x > 0) || x === Infinity) return Math.log(x)
  if (x === 1) return 0
  // x = m * 2^k with m in [sqrt(1/2), sqrt(2)).
  let k = 0
  let m = x
  if (m < 2.2250738585072014e-308) {
    m *= 2 ** 64
    k -= 64
  }
  scratchF64[0] = m
  const high = scratchU32[HI_WORD]!
  k += ((high >>> 20) & 0x7ff) - 1023
  scratchU32[HI_WORD] = (high & 0x800fffff) | 0x3ff00000 // m in [1, 2)
  m = scratchF64[0]!
  if (m > Math.SQRT2) {
    m /= 2 // exact
    k += 1
  }
  // log m = 2 atanh(s), s = (m - 1) / (m + 1).
  const numerator = m - 1 // exact (Sterbenz)
  const denominatorHi = m + 1
  const denominatorLo = m - (denominatorHi - 1) // exact remainder: m + 1 = hi + lo
  ddDiv(numerator, 0, denominatorHi, denominatorLo)
  const sHi = hiOut
  const sLo = loOut
  ddMul(sHi, sLo, sHi, sLo)
  const s2Hi = hiOut
  const s2Lo = loOut
  // Horner: P = sum_{n>=1} s^(2n) / (2n + 1), then log m = 2 s (1 + P).
  let pHi = INV_ODD_HI[ATANH_TERMS]!
  let pLo = INV_ODD_LO[ATANH_TERMS]!
  for (let n = ATANH_TERMS - 1; n >= 1; n--) {
    ddMul(pHi, pLo, s2Hi, s2Lo)
    ddAdd(hiOut, loOut, INV_ODD_HI[n]!, INV_ODD_LO[n]!)
    pHi = hiOut
    pLo = loOut
  }
  ddMul(pHi, pLo, s2Hi, s2Lo)
  ddAdd(hiOut, loOut, 1, 0)
  ddMul(hiOut, loOut, 2 * sHi, 2 * sLo)
  const logMHi = hiOut
  const logMLo = loOut
  if (k === 0) return logMHi + logMLo
  ddMul(LN2_HI, LN2_LO, k, 0)
  ddAdd(hiOut, loOut, logMHi, logMLo)
  return hiOut + loOut
}

// ---- sin / cos ----

// pi/2 in three parts: the first two have 33 significant bits, so k * part is exact for small k.
const PIO2_1 = 1.57079632673412561417e0
const PIO2_2 = 6.07710050630396597660e-11
const PIO2_3 = 2.02226624879595063154e-21 // pi/2 - (PIO2_1 + PIO2_2), rounded (error ~2^-122)
const TAYLOR_TERMS = 14
/** 1 / n! as double-doubles, n = 0 .. 2 * TAYLOR_TERMS + 1. */
const INV_FACT_HI = new Float64Array(2 * TAYLOR_TERMS + 2)
const INV_FACT_LO = new Float64Array(2 * TAYLOR_TERMS + 2)
{
  let fHi = 1
  let fLo = 0
  INV_FACT_HI[0] = 1
  for (let n = 1; n < INV_FACT_HI.length; n++) {
    ddDiv(fHi, fLo, n, 0)
    fHi = hiOut
    fLo = loOut
    INV_FACT_HI[n] = fHi
    INV_FACT_LO[n] = fLo
  }
}

/** Output of {@link accurateSinCos}, written in place. */
export interface SinCosPair {
  sin: number
  cos: number
}

/** Sine and cosine of a finite double with |x| < 2^20 (glibc `sin` / `cos`), into `out`. */
export function accurateSinCos(x: number, out: SinCosPair): void {
  if (!Number.isFinite(x) || Math.abs(x) >= 1048576) {
    out.sin = Math.sin(x)
    out.cos = Math.cos(x)
    return
  }
  const k = Math.round(x / (Math.PI / 2))
  // r = x - k * pi/2 in double-double.
  const r1 = x - k * PIO2_1 // exact: k * PIO2_1 exact, and the difference is exact for |k| < 2^20
  ddAdd(r1, 0, -k * PIO2_2, 0)
  const partHi = hiOut
  const partLo = loOut
  twoProd(-k, PIO2_3)
  ddAdd(partHi, partLo, hiOut, loOut)
  const rHi = hiOut
  const rLo = loOut
  ddMul(rHi, rLo, rHi, rLo)
  const r2Hi = hiOut
  const r2Lo = loOut
  // sin r = r * sum (-1)^n r^(2n) / (2n+1)!, cos r = sum (-1)^n r^(2n) / (2n)!
  let sHi = INV_FACT_HI[2 * TAYLOR_TERMS + 1]!
  let sLo = INV_FACT_LO[2 * TAYLOR_TERMS + 1]!
  let cHi = INV_FACT_HI[2 * TAYLOR_TERMS]!
  let cLo = INV_FACT_LO[2 * TAYLOR_TERMS]!
  if (TAYLOR_TERMS % 2 === 1) {
    sHi = -sHi
    sLo = -sLo
    cHi = -cHi
    cLo = -cLo
  }
  for (let n = TAYLOR_TERMS - 1; n >= 0; n--) {
    const sign = n % 2 === 0 ? 1 : -1
    ddMul(sHi, sLo, r2Hi, r2Lo)
    ddAdd(hiOut, loOut, sign * INV_FACT_HI[2 * n + 1]!, sign * INV_FACT_LO[2 * n + 1]!)
    sHi = hiOut
    sLo = loOut
    ddMul(cHi, cLo, r2Hi, r2Lo)
    ddAdd(hiOut, loOut, sign * INV_FACT_HI[2 * n]!, sign * INV_FACT_LO[2 * n]!)
    cHi = hiOut
    cLo = loOut
  }
  ddMul(sHi, sLo, rHi, rLo)
  const sin = hiOut + loOut
  const cos = cHi + cLo
  switch (((k % 4) + 4) % 4) {
    case 0:
      out.sin = sin
      out.cos = cos
      break
    case 1:
      out.sin = cos
      out.cos = -sin
      break
    case 2:
      out.sin = -sin
      out.cos = -cos
      break
    default:
      out.sin = -cos
      out.cos = sin
  }
}
