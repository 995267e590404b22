/**
 * Float32 fused multiply-add, emulated exactly with doubles.
 *
 * `a * b` of two float32 values is exact in a double (48 significant bits), so only the
 * addition can round twice (`p + c` to double, then to float32). That double rounding
 * changes the result only when the double sum lands exactly halfway between two float32
 * neighbours while the exact sum does not: we detect that case and use the error of the
 * double addition (Knuth's TwoSum) to pick the side the exact sum lies on.
 */

const fround = Math.fround

/**
 * `fma(a, b, c)` rounded once to float32, for float32 inputs `a`, `b`, `c`
 * (the `vfmadd` instruction torch's AVX2 build executes).
 */
export function fma32(a: number, b: number, c: number): number {
  const product = a * b // exact
  const sum = product + c
  const rounded = fround(sum)
  const gap = sum - rounded // exact: |gap| <= half a float32 ulp
  if (gap === 0) return rounded
  const across = rounded + 2 * gap
  // Not a tie between two float32 values: the double sum rounds like the exact one.
  if (fround(across) !== across) return rounded
  // Tie in double: the rounding error of `product + c` decides the side.
  const cPart = sum - product
  const productPart = sum - cPart
  const error = product - productPart + (c - cPart)
  if (error === 0) return rounded // a true tie: fround already rounded it to even
  return error > 0 === gap > 0 ? across : rounded
}

/** Float32 product `a * b`, correctly rounded. */
export function mul32(a: number, b: number): number {
  return fround(a * b)
}

/** Float32 sum `a + b`, correctly rounded (a double sum of two floats rounds correctly to float32). */
export function add32(a: number, b: number): number {
  return fround(a + b)
}
