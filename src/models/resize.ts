/**
 * Bilinear resize to a fixed size as a serialisable layer: the context
 * encoder's five up-convolutions reach pool5 x 32 (192 at 227), which this
 * brings to exactly the input size.
 */
import * as tf from '@tensorflow/tfjs';

import { FixedSizeLayer, type FixedSizeArgs } from './fixed-size-layer.js';

export type ResizeBilinearArgs = FixedSizeArgs;

export class ResizeBilinear extends FixedSizeLayer {
  // tfjs-layers' own 'Resizing' drops the batch axis from its output shape.
  static className = 'ResizeBilinear';

  protected map(x: tf.Tensor4D): tf.Tensor4D {
    // tfjs 4.22's ResizeBilinearGrad ignores halfPixelCenters (cpu and wasm
    // alike), so half-pixel sampling would train on a wrong gradient; of the
    // mappings with a correct one, corner alignment is the unshifted one.
    return tf.image.resizeBilinear(x, [this.height, this.width], true);
  }
}

tf.serialization.registerClass(ResizeBilinear);
