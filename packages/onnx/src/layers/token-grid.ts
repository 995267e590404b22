// Token grids: the [height, width] of the tokens a site attends over, for a given sample — what query-space hooks
// (Smoothed Energy Guidance's blur) need. A family knows its down-sampling; these are the two common ones.
import { LayerIndexError } from "../errors.js"
import type { LayerIndex } from "./layer-index.js"

/** A site's token grid for one sample, or undefined when the site is not on a 2-D grid. */
export type TokenGrid = (site: string) => readonly [height: number, width: number] | undefined

/** The part of a diffusers `UNet2DConditionModel` config (`unet/config.json`) {@link unetTokenGrid} reads. */
export interface UNetGridConfig {
  readonly down_block_types: readonly string[]
}

function spatialSize(sampleShape: readonly number[]): [number, number] {
  const height = sampleShape[sampleShape.length - 2]
  const width = sampleShape[sampleShape.length - 1]
  if (sampleShape.length < 3 || height === undefined || width === undefined || !(height > 0 && width > 0)) {
    throw new LayerIndexError(`a token grid needs the sample shape [batch, channels, height, width]; found [${sampleShape.join(", ")}]. Pass the latent's shape.`)
  }
  return [height, width]
}

/** Number of down blocks: from a config, else the deepest `down_blocks.i`/`up_blocks.i` seen in the index. */
function downBlockCount(source: LayerIndex | UNetGridConfig): number {
  if ("down_block_types" in source) return source.down_block_types.length
  let deepest = -1
  const paths = [...source.attention, ...source.blocks].map((m) => m.path)
  for (const path of paths) {
    const m = /^(?:down|up)_blocks\.(\d+)\./.exec(path)
    if (m !== null) deepest = Math.max(deepest, Number(m[1]))
  }
  if (deepest < 0) {
    throw new LayerIndexError(`unetTokenGrid: the layer index has no down_blocks.N or up_blocks.N sites; this is not a diffusers UNet. Use patchTokenGrid for a DiT, or pass the UNet's config.`)
  }
  return deepest + 1
}

/**
 * Token grids of an SDXL-style UNet (`UNet2DConditionModel`): attention in `down_blocks.i` runs at level `i`
 * (each level halves the latent, rounding up as its stride-2 convolution does), `mid_block` at the deepest level,
 * `up_blocks.i` at level `downBlocks − 1 − i`. The number of down blocks comes from the config when given
 * (`down_block_types`), else from the index (the deepest down or up block with attention; right for SD 1.x/2.x and
 * SDXL layouts, where the first up block or the last down block has attention).
 *
 * @example
 * const grid = unetTokenGrid(unet.index, [2, 4, 96, 128])
 * grid("mid_block.attentions.0.transformer_blocks.0.attn1") // [24, 32] for SDXL (3 levels)
 */
export function unetTokenGrid(source: LayerIndex | UNetGridConfig, sampleShape: readonly number[]): TokenGrid {
  const [height, width] = spatialSize(sampleShape)
  const levels = downBlockCount(source)
  const grids: [number, number][] = [[height, width]]
  for (let i = 1; i < levels; i++) {
    const [h, w] = grids[i - 1]!
    grids.push([Math.ceil(h / 2), Math.ceil(w / 2)])
  }
  return (site) => {
    const m = /^(down|up)_blocks\.(\d+)\./.exec(site)
    const level = site.startsWith("mid_block.") ? levels - 1 : m === null ? undefined : m[1] === "down" ? Number(m[2]) : levels - 1 - Number(m[2])
    return level === undefined ? undefined : grids[level]
  }
}

/**
 * Token grids of a DiT that patchifies the latent (PixArt, SD3, Hunyuan: every site sees `height/p × width/p`
 * tokens, row-major).
 *
 * @example
 * patchTokenGrid(2, [2, 4, 16, 24])("transformer_blocks.3.attn1") // [8, 12]
 */
export function patchTokenGrid(patchSize: number, sampleShape: readonly number[]): TokenGrid {
  const [height, width] = spatialSize(sampleShape)
  if (!Number.isInteger(patchSize) || patchSize < 1 || height % patchSize !== 0 || width % patchSize !== 0) {
    throw new LayerIndexError(
      `patchTokenGrid: the latent ${height}×${width} is not a whole number of ${patchSize}×${patchSize} patches. Pass the transformer's patch_size (config.json) and a latent size divisible by it.`,
    )
  }
  const grid = [height / patchSize, width / patchSize] as const
  return () => grid
}
