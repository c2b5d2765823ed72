/**
 * MaxPoolGrad for wasm. The stock kernel (4.22) starts each window's running
 * maximum at std::numeric_limits<float>::min(), the smallest *positive*
 * float, so any window whose values are all <= 0 (common after ReLU or
 * LeakyReLU, and in 'same' padding) sends its gradient to element 0 of the
 * batch instead of its argmax. This routes dy to the first maximum of each
 * window, as the cpu backend does, in one JS pass over the wasm heap.
 */
import * as tf from '@tensorflow/tfjs';
import { withWasmOps } from './wasm-ops.js';

type Shape4 = [number, number, number, number];

function maxPoolGrad({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const { dy, input } = inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
  const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as tf.MaxPoolGradAttrs;
  const info = tf.backend_util.computePool2DInfo(input.shape as Shape4, filterSize, strides, 1, pad, dimRoundingMode);
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow } = info;
  const { strideHeight: sh, strideWidth: sw, effectiveFilterHeight: kh, effectiveFilterWidth: kw } = info;
  const { top, left } = info.padInfo;
  return withWasmOps(backend, (ops) => {
    const { info: dx, data: out } = ops.alloc(input.shape, 'float32', true);
    const x = ops.view(input);
    const g = ops.view(dy);
    const best = new Float32Array(c);
    const where = new Int32Array(c);
    for (let b = 0, o = 0; b < n; b++) {
      for (let i = 0; i < oh; i++) {
        for (let j = 0; j < ow; j++, o += c) {
          best.fill(-Infinity);
          where.fill(-1);
          for (let y = Math.max(0, i * sh - top); y < Math.min(h, i * sh - top + kh); y++) {
            for (let xx = Math.max(0, j * sw - left); xx < Math.min(w, j * sw - left + kw); xx++) {
              const p = ((b * h + y) * w + xx) * c;
              for (let k = 0; k < c; k++) {
                if (x[p + k] > best[k]) {
                  best[k] = x[p + k];
                  where[k] = p + k;
                }
              }
            }
          }
          for (let k = 0; k < c; k++) if (where[k] >= 0) out[where[k]] += g[o + k];
        }
      }
    }
    return dx;
  });
}

export const maxPoolGradConfig: tf.KernelConfig = {
  kernelName: tf.MaxPoolGrad,
  backendName: 'wasm',
  kernelFunc: maxPoolGrad,
};
