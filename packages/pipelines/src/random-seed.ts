/** A seed for runs that give none (reported on the output so the image can be made again). */
export function randomSeed(): number {
  return Math.floor(Math.random() * 2 ** 32)
}
