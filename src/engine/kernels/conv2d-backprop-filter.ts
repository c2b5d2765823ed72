/**
 * Conv2DBackpropFilter for wasm, which tfjs-backend-wasm 4.22 lacks.
 *
 * dW[kh,kw,ci,co] = sum over n,oh,ow of xpad[n, oh*s+kh, ow*s+kw, ci] * dy[n,oh,ow,co]
 * is itself a stride-1 convolution: the input with batch and channel axes
 * swapped ([Ci,H,W,N]) convolved with dy as the filter ([OH,OW,N,Co]) at
 * dilation = stride, giving [Ci,KH,KW,Co]. XNNPACK does that with no wasted
 * multiply-adds.
 */
import * as tf from '@tensorflow/tfjs';
import { assertNhwc, assertShape, withWasmOps } from './wasm-ops.js';

type Shape4 = [number, number, number, number];

function conv2DBackpropFilter({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  assertNhwc(tf.Conv2DBackpropFilter, dataFormat);
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as Shape4, filterShape, strides, 1, pad, dimRoundingMode, false, 'channelsLast',
  );
  assertShape(tf.Conv2DBackpropFilter, 'dy', dy.shape, info.outShape);
  const { strideHeight, strideWidth, filterHeight, filterWidth, outHeight, outWidth, inHeight, inWidth } = info;
  const { top, left } = info.padInfo;
  return withWasmOps(backend, (ops) => {
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
  });
}

export const conv2DBackpropFilterConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: conv2DBackpropFilter,
};
