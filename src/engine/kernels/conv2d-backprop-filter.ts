/**
 * Conv2DBackpropFilter for wasm, which tfjs-backend-wasm 4.22 lacks.
 *
 * dW[kh,kw,ci,co] = sum over n,oh,ow of xpad[n, oh*s+kh, ow*s+kw, ci] * dy[n,oh,ow,co]
 * is itself a stride-1 convolution: the input with batch and channel axes
 * swapped ([Ci,H,W,N]) convolved with dy as the filter ([OH,OW,N,Co]) at
 * dilation = stride, giving [Ci,KH,KW,Co]. XNNPACK does that with no wasted
 * multiply-adds.
 *
 * dW = patches^T x dy as one XNNPACK matrix product (im2col) lands directly
 * in the filter's layout, saving the transpose of a possibly huge
 * [Ci,KH,KW,Co], at the cost of a patch matrix KH*KW/stride^2 times the size
 * of x. It is taken when that matrix is small: windows that do not overlap
 * (a 4x4 conv onto a 1x1 output, as in a DCGAN bottleneck), a filter at
 * least a third of the patch matrix, or for stride 1 a tenth. Measured
 * (batch 16, min of 6, interleaved; conv / matmul ms): 8x8x256 -> 4x4x512
 * 4x4/2 120 / 55; 13x13x384 -> 13x13x384 3x3/1 284 / 220 (a ninth);
 * 16x16x128 -> 8x8x256 4x4/2 39 / 47 (a quarter) and 96x96x32 -> 48x48x64
 * 175 / 283 stay on the convolution, as do 3-channel inputs (64x64x3 4x4/2
 * 48 / 24, but 192x192x3 regressed several-fold on the patch matrix).
 */
import * as tf from '@tensorflow/tfjs';
import { assertNhwc, fitDy, withWasmOps, type WasmOps } from './wasm-ops.js';

type Shape4 = [number, number, number, number];

function viaConv(ops: WasmOps, x: tf.TensorInfo, dy: tf.TensorInfo, info: tf.backend_util.Conv2DInfo): tf.TensorInfo {
  const { strideHeight, strideWidth, filterHeight, filterWidth, outHeight, outWidth, inHeight, inWidth } = info;
  const { top, left } = info.padInfo;
  const xT = ops.transpose(x, [3, 1, 2, 0]);
  const dyT = ops.transpose(dy, [1, 2, 0, 3]);
  // The far-side padding is whatever makes the output exactly KH x KW. It
  // goes negative when the forward conv never reached the last rows of x
  // ('valid' with a stride leaving leftovers): those rows are cropped.
  const grad = ops.conv2d(xT, dyT, [strideHeight, strideWidth], {
    top,
    left,
    bottom: filterHeight + (outHeight - 1) * strideHeight - inHeight - top,
    right: filterWidth + (outWidth - 1) * strideWidth - inWidth - left,
  });
  return ops.transpose(grad, [1, 2, 0, 3]);
}

function viaMatMul(ops: WasmOps, x: tf.TensorInfo, dy: tf.TensorInfo, info: tf.backend_util.Conv2DInfo): tf.TensorInfo {
  const { batchSize: n, strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw } = info;
  const { inHeight: h, inWidth: w, inChannels: ci, outChannels: co, outHeight: oh, outWidth: ow } = info;
  const { top, left } = info.padInfo;
  const pixels = n * oh * ow;
  const { info: patchesT, data: p } = ops.alloc([1, kh * kw * ci, pixels], x.dtype, true);
  const src = ops.view(x);
  for (let b = 0, pixel = 0; b < n; b++) {
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++, pixel++) {
        for (let y = 0; y < kh; y++) {
          const r = i * sh + y - top;
          if (r < 0 || r >= h) continue;
          for (let xx = 0; xx < kw; xx++) {
            const c = j * sw + xx - left;
            if (c < 0 || c >= w) continue;
            const s = ((b * h + r) * w + c) * ci;
            for (let k = 0, d = (y * kw + xx) * ci * pixels + pixel; k < ci; k++, d += pixels) p[d] = src[s + k];
          }
        }
      }
    }
  }
  const grad = ops.run('BatchMatMul', { a: patchesT, b: ops.reshape(dy, [1, pixels, co]) }, { transposeA: false, transposeB: false });
  return ops.reshape(grad, [kh, kw, ci, co]);
}

function conv2DBackpropFilter({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  assertNhwc(tf.Conv2DBackpropFilter, dataFormat);
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as Shape4, filterShape, strides, 1, pad, dimRoundingMode, false, 'channelsLast',
  );
  const patches = info.batchSize * info.outHeight * info.outWidth * info.filterHeight * info.filterWidth * info.inChannels;
  const filter = tf.util.sizeFromShape(filterShape);
  const stride1 = info.strideHeight === 1 && info.strideWidth === 1;
  const viaPatches = patches <= tf.util.sizeFromShape(x.shape) || 3 * filter >= patches || (stride1 && 10 * filter >= patches);
  return withWasmOps(backend, (ops) => {
    const grad = fitDy(ops, tf.Conv2DBackpropFilter, dy, info.outShape);
    return viaPatches ? viaMatMul(ops, x, grad, info) : viaConv(ops, x, grad, info);
  });
}

export const conv2DBackpropFilterConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: conv2DBackpropFilter,
};
