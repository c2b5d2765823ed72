/**
 * Average pooling to a fixed output grid, whatever the input's size (PyTorch's
 * AdaptiveAvgPool2d): output cell i along an axis of n inputs averages inputs
 * floor(i*n/out) .. ceil((i+1)*n/out) - 1. Where out divides n the windows
 * are plain non-overlapping ones (window = stride); elsewhere neighbouring
 * windows share an edge cell, which reaches sizes no single window and stride
 * can: 13 -> 6 takes windows of 3 at stride 2 (AlexNet's own pool5), which
 * Zhang et al.'s conv5 probe (6x6x256) needs.
 * Shapes NHWC.
 */
import * as tf from '@tensorflow/tfjs';
import { FixedSizeLayer, type FixedSizeArgs } from './fixed-size-layer.js';


/** [start, end) of each output cell's window along an axis of `inSize` inputs. */
export function adaptiveWindows(inSize: number, outSize: number): [number, number][] {
  return Array.from({ length: outSize }, (_, i) => [Math.floor((i * inSize) / outSize), Math.ceil(((i + 1) * inSize) / outSize)]);
}

/** [outSize, inSize]: row i averages window i. */
function averagingMatrix(inSize: number, outSize: number): tf.Tensor2D {
  const m = new Float32Array(outSize * inSize);
  adaptiveWindows(inSize, outSize).forEach(([start, end], i) => {
    for (let j = start; j < end; j++) m[i * inSize + j] = 1 / (end - start);
  });
  return tf.tensor2d(m, [outSize, inSize]);
}

/**
 * [n, h, w, c] -> [n, outH, outW, c]. A window is a rectangle, so its mean is
 * the mean over its rows of the means over its columns: two matrix products
 * (one per axis) instead of a loop over windows.
 */
export function adaptiveAvgPool(x: tf.Tensor4D, outH: number, outW: number): tf.Tensor4D {
  return tf.tidy(() => {
    const [n, h, w, c] = x.shape;
    if (h === outH && w === outW) return x.clone();
    const rows = tf.matMul(averagingMatrix(h, outH), x.transpose([1, 0, 2, 3]).reshape([h, n * w * c])).reshape([outH, n, w, c]);
    const cols = tf.matMul(averagingMatrix(w, outW), rows.transpose([2, 0, 1, 3]).reshape([w, outH * n * c])).reshape([outW, outH, n, c]);
    return cols.transpose([2, 1, 0, 3]) as tf.Tensor4D;
  });
}

export type AdaptiveAveragePooling2DArgs = FixedSizeArgs;

/** adaptiveAvgPool as a layer, so a model can end in it (the probes' pooled features). */
export class AdaptiveAveragePooling2D extends FixedSizeLayer {
  static className = 'AdaptiveAveragePooling2D';

  protected map(x: tf.Tensor4D): tf.Tensor4D {
    return adaptiveAvgPool(x, this.height, this.width);
  }
}

tf.serialization.registerClass(AdaptiveAveragePooling2D);
