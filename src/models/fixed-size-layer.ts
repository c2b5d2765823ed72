/**
 * Base of the serialisable layers that map an NHWC map of any size to a
 * fixed height x width, keeping batch and channels (bilinear resize,
 * adaptive average pooling): the shape, the config and the input unwrapping
 * live here; a subclass says how it maps.
 */
import * as tf from '@tensorflow/tfjs';

export type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;

export interface FixedSizeArgs extends LayerArgs {
  height: number;
  width: number;
}

export abstract class FixedSizeLayer extends tf.layers.Layer {
  readonly height: number;
  readonly width: number;

  constructor(args: FixedSizeArgs) {
    super(args);
    this.height = args.height;
    this.width = args.width;
  }

  /** [n, h, w, c] -> [n, height, width, c]. */
  protected abstract map(x: tf.Tensor4D): tf.Tensor4D;

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = Array.isArray(inputShape[0]) ? (inputShape as tf.Shape[])[0] : (inputShape as tf.Shape);
    return [shape[0], this.height, this.width, shape[3]];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return this.map((Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), height: this.height, width: this.width };
  }
}
