import sharp from "sharp"
import { CliError } from "./errors.js"

/** A labelled grid's parts: `cells[row][column]` encoded images (PNG, any size; each sits top-left in its cell). */
export interface GridParts {
  readonly cells: readonly (readonly Uint8Array[])[]
  readonly rowLabels: readonly string[]
  readonly columnLabels: readonly string[]
}

/** Layout of a grid: label column width, header height, cell size. */
export interface GridLayout {
  readonly labelWidth: number
  readonly headerHeight: number
  readonly cellWidth: number
  readonly cellHeight: number
  readonly width: number
  readonly height: number
}

const FONT_SIZE = 12
const CHAR_WIDTH = 7 // generous average advance of a 12 px sans-serif glyph
const PAD = 6

function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

function label(text: string, width: number, height: number, align: "start" | "middle"): Buffer {
  const x = align === "middle" ? width / 2 : PAD
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` +
    `<text x="${x}" y="${Math.round(height / 2 + FONT_SIZE / 3)}" font-family="sans-serif" font-size="${FONT_SIZE}" fill="#000" text-anchor="${align}">${escapeXml(text)}</text></svg>`
  return Buffer.from(svg)
}

/** The grid's geometry for cells of `cellWidth × cellHeight` and these labels. */
export function gridLayout(parts: Pick<GridParts, "rowLabels" | "columnLabels">, cell: { width: number; height: number }): GridLayout {
  const longest = Math.max(0, ...parts.rowLabels.map((l) => l.length))
  const labelWidth = Math.min(400, Math.max(60, longest * CHAR_WIDTH + 2 * PAD))
  const headerHeight = FONT_SIZE + 2 * PAD
  const cellWidth = Math.max(cell.width, Math.max(0, ...parts.columnLabels.map((l) => l.length)) * CHAR_WIDTH + 2 * PAD)
  return {
    labelWidth,
    headerHeight,
    cellWidth,
    cellHeight: cell.height,
    width: labelWidth + parts.columnLabels.length * cellWidth,
    height: headerHeight + parts.rowLabels.length * cell.height,
  }
}

/**
 * Composes one PNG: a white canvas, column labels on top, row labels on the left (SVG text drawn by sharp/librsvg),
 * images in the cells. Returns the PNG bytes and the layout.
 */
export async function composeGrid(parts: GridParts): Promise<{ png: Uint8Array; layout: GridLayout }> {
  if (parts.cells.length !== parts.rowLabels.length || parts.cells.some((row) => row.length !== parts.columnLabels.length)) {
    throw new CliError(`grid: ${parts.rowLabels.length} row label(s) × ${parts.columnLabels.length} column label(s) do not match the cells.`, { code: "INTERNAL_GRID", exitCode: 70 })
  }
  const sizes = await Promise.all(parts.cells.flat().map(async (png) => sharp(png).metadata()))
  const cell = { width: Math.max(1, ...sizes.map((m) => m.width ?? 0)), height: Math.max(1, ...sizes.map((m) => m.height ?? 0)) }
  const layout = gridLayout(parts, cell)
  const overlays: sharp.OverlayOptions[] = []
  parts.columnLabels.forEach((text, c) => overlays.push({ input: label(text, layout.cellWidth, layout.headerHeight, "middle"), left: layout.labelWidth + c * layout.cellWidth, top: 0 }))
  parts.rowLabels.forEach((text, r) => overlays.push({ input: label(text, layout.labelWidth, layout.cellHeight, "start"), left: 0, top: layout.headerHeight + r * layout.cellHeight }))
  parts.cells.forEach((row, r) =>
    row.forEach((png, c) => overlays.push({ input: Buffer.from(png), left: layout.labelWidth + c * layout.cellWidth, top: layout.headerHeight + r * layout.cellHeight })),
  )
  const buffer = await sharp({ create: { width: layout.width, height: layout.height, channels: 3, background: { r: 255, g: 255, b: 255 } } })
    .composite(overlays)
    .png()
    .toBuffer()
  return { png: new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.length), layout }
}
