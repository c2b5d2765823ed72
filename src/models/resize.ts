/**
 * Bilinear resize to a fixed size as a serialisable layer: the context
 * encoder's five up-convolutions reach pool5 x 32 (192 at 227), which this
 * brings to exactly the input size.
 */
import * as tf from '@tensorflow/tfjs';

type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;

export interface ResizeBilinearArgs extends LayerArgs {
  height: number;
  width: number;
}

export class ResizeBilinear extends tf.layers.Layer {
  // tfjs-layers' own 'Resizing' drops the batch axis from its output shape.
  static className = 'ResizeBilinear';
  readonly height: number;
  readonly width: number;

  constructor(args: ResizeBilinearArgs) {
    super(args);
    this.height = args.height;
    this.width = args.width;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = Array.isArray(inputShape[0]) ? (inputShape as tf.Shape[])[0] : (inputShape as tf.Shape);
    return [shape[0], this.height, this.width, shape[3]];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
      // tfjs 4.22's ResizeBilinearGrad ignores halfPixelCenters (cpu and wasm
      // alike), so half-pixel sampling would train on a wrong gradient; of the
      // mappings with a correct one, corner alignment is the unshifted one.
      return tf.image.resizeBilinear(x, [this.height, this.width], true);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), height: this.height, width: this.width };
  }
}

tf.serialization.registerClass(ResizeBilinear);
