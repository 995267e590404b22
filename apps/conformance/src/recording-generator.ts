import { TorchGenerator } from "@pagkit/tensor"
import type { RandomDType, RandomOptions, Shape, Tensor } from "@pagkit/tensor"

/** A TorchGenerator that keeps every `randn` draw, in order (the pipeline's and the scheduler's). */
export class RecordingGenerator extends TorchGenerator {
  readonly draws: Tensor[] = []
  override randn<D extends RandomDType = "float32">(shape: Shape, options?: RandomOptions<D>): Tensor<D> {
    const draw = super.randn(shape, options)
    this.draws.push(draw)
    return draw
  }
}
