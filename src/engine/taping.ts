/**
 * Whether a gradient tape is recording: tfjs-core's own test in its fused
 * ops (shouldFuse). Kernels with their own gradient skip what only the
 * backward pass needs (saved winners, unfused intermediates) when it is not.
 */
import * as tf from '@tensorflow/tfjs';

export function taping(): boolean {
  return tf.engine().state.gradientDepth > 0;
}
