/** An input image drawn at the job's size, and a mask painted over it with the pointer (white = repaint). */
export class MaskEditor {
  readonly #image: HTMLCanvasElement
  readonly #mask: HTMLCanvasElement
  #hasImage = false
  #hasMask = false

  constructor(image: HTMLCanvasElement, mask: HTMLCanvasElement) {
    this.#image = image
    this.#mask = mask
    let drawing = false
    const paint = (event: PointerEvent): void => {
      if (!drawing) return
      const rect = mask.getBoundingClientRect()
      const x = ((event.clientX - rect.left) / rect.width) * mask.width
      const y = ((event.clientY - rect.top) / rect.height) * mask.height
      const ctx = mask.getContext("2d")!
      ctx.fillStyle = "#fff"
      ctx.beginPath()
      ctx.arc(x, y, Math.max(2, mask.width / 12), 0, Math.PI * 2)
      ctx.fill()
      this.#hasMask = true
    }
    mask.addEventListener("pointerdown", (e) => ((drawing = true), mask.setPointerCapture(e.pointerId), paint(e)))
    mask.addEventListener("pointermove", paint)
    mask.addEventListener("pointerup", () => (drawing = false))
  }

  /** Sets the canvases to the job's size (clears the mask). */
  resize(width: number, height: number): void {
    if (this.#image.width === width && this.#image.height === height) return
    const old = this.#hasImage ? this.#copy(this.#image) : undefined
    for (const canvas of [this.#image, this.#mask]) {
      canvas.width = width
      canvas.height = height
    }
    this.#hasMask = false
    if (old !== undefined) this.#image.getContext("2d")!.drawImage(old, 0, 0, width, height)
  }

  /** Draws an image (file or URL) as the input, stretched to the canvas. */
  async load(source: Blob | string): Promise<void> {
    const url = typeof source === "string" ? source : URL.createObjectURL(source)
    const img = new Image()
    img.src = url
    await img.decode()
    const ctx = this.#image.getContext("2d")!
    ctx.clearRect(0, 0, this.#image.width, this.#image.height)
    ctx.drawImage(img, 0, 0, this.#image.width, this.#image.height)
    this.#hasImage = true
    if (typeof source !== "string") URL.revokeObjectURL(url)
  }

  clearMask(): void {
    this.#mask.getContext("2d")!.clearRect(0, 0, this.#mask.width, this.#mask.height)
    this.#hasMask = false
  }

  /** The input image as a PNG data URL, or undefined when none was loaded. */
  imageData(): string | undefined {
    return this.#hasImage ? this.#image.toDataURL("image/png") : undefined
  }

  /** The mask as a black-and-white PNG data URL, or undefined when nothing was drawn. */
  maskData(): string | undefined {
    if (!this.#hasMask) return undefined
    const out = document.createElement("canvas")
    out.width = this.#mask.width
    out.height = this.#mask.height
    const ctx = out.getContext("2d")!
    ctx.fillStyle = "#000"
    ctx.fillRect(0, 0, out.width, out.height)
    ctx.drawImage(this.#mask, 0, 0)
    return out.toDataURL("image/png")
  }

  #copy(canvas: HTMLCanvasElement): HTMLCanvasElement {
    const copy = document.createElement("canvas")
    copy.width = canvas.width
    copy.height = canvas.height
    copy.getContext("2d")!.drawImage(canvas, 0, 0)
    return copy
  }
}
