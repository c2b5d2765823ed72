/**
 * Conv2DBackpropInput for wasm on XNNPACK, replacing the stock kernel's naive
 * loop. The same kernel is the forward pass of tf.conv2dTranspose.
 *
 * For stride s the input gradient splits by output phase: padded row s*m + a
 * receives sum over j of dy[m - j] * W[s*j + a]. All s*s phases are one
 * stride-1 convolution of dy with a ceil(K/s)-sized, spatially flipped filter
 * whose output channels are (phase row, phase column, Ci); interleaving the
 * phases (depth-to-space) and cropping to the input gives dx. Unlike
 * inserting zeros into dy, no multiply-add hits a structural zero (except
 * filter taps past K when K is not a multiple of s).
 */
import * as tf from '@tensorflow/tfjs';
import { assertShape, withWasmOps } from './wasm-ops.js';

type Shape4 = [number, number, number, number];

/** Rows (or columns) of the phase-split convolution that cover the input along one axis. */
export interface PhaseRange {
  /** Phase-grid rows produced by the convolution. */
  count: number;
  /** Padding of dy before / after (negative crops). */
  padBefore: number;
  padAfter: number;
  /** Where the input starts in the interleaved output. */
  offset: number;
}

/**
 * `padStart` is the forward conv's leading padding, `size` the input extent,
 * `taps` = ceil(K/s) the phase filter size and `dySize` dy's extent.
 */
export function phaseRange(padStart: number, size: number, stride: number, taps: number, dySize: number): PhaseRange {
  const first = Math.floor(padStart / stride);
  const last = Math.floor((padStart + size - 1) / stride);
  const count = last - first + 1;
  const padBefore = taps - 1 - first;
  return { count, padBefore, padAfter: count + taps - 1 - padBefore - dySize, offset: padStart - stride * first };
}

/** Builds the kernel around the stock one, kept for the NCHW layout it also handles. */
export function makeConv2DBackpropInputConfig(stock: tf.KernelConfig | undefined): tf.KernelConfig {
  function conv2DBackpropInput(args: Parameters<tf.KernelFunc>[0]): tf.TensorInfo | tf.TensorInfo[] {
    const { inputs, backend, attrs } = args;
    const { dy, filter } = inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
    const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs as unknown as tf.Conv2DBackpropInputAttrs;
    if (dataFormat === 'NCHW') {
      if (!stock) throw new Error(`${tf.Conv2DBackpropInput} on wasm supports dataFormat 'NHWC' only`);
      return stock.kernelFunc(args);
    }
    const info = tf.backend_util.computeConv2DInfo(
      inputShape, filter.shape as Shape4, strides, 1, pad, dimRoundingMode, false, 'channelsLast',
    );
    assertShape(tf.Conv2DBackpropInput, 'dy', dy.shape, info.outShape);
    const { batchSize, strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw } = info;
    const { inHeight, inWidth, inChannels: ci, outChannels: co } = info;
    const jh = Math.ceil(kh / sh);
    const jw = Math.ceil(kw / sw);
    const rows = phaseRange(info.padInfo.top, inHeight, sh, jh, info.outHeight);
    const cols = phaseRange(info.padInfo.left, inWidth, sw, jw, info.outWidth);
    return withWasmOps(backend, (ops) => {
      let f = filter;
      if (jh * sh > kh || jw * sw > kw) f = ops.pad(f, [[0, jh * sh - kh], [0, jw * sw - kw], [0, 0], [0, 0]]);
      // [jh*sh, jw*sw, Ci, Co] -> G[j, jw', Co, (a, b, Ci)] = W[sh*(jh-1-j) + a, sw*(jw-1-jw') + b, Ci, Co]
      f = ops.reshape(f, [jh, sh, jw, sw, ci, co]);
      f = ops.reverse(f, [0, 2]);
      f = ops.transpose(f, [0, 2, 5, 1, 3, 4]);
      f = ops.reshape(f, [jh, jw, co, sh * sw * ci]);
      let dx = ops.conv2d(dy, f, [1, 1], {
        top: rows.padBefore, bottom: rows.padAfter, left: cols.padBefore, right: cols.padAfter,
      });
      if (sh * sw > 1) {
        // Depth-to-space for possibly unequal strides, as one 4-D transpose:
        // [N*rows, cols, a, (b, Ci)] -> [N*rows, a, cols, (b, Ci)].
        dx = ops.reshape(dx, [batchSize * rows.count, cols.count, sh, sw * ci]);
        dx = ops.transpose(dx, [0, 2, 1, 3]);
        dx = ops.reshape(dx, [batchSize, rows.count * sh, cols.count * sw, ci]);
      }
      if (rows.offset > 0 || cols.offset > 0 || rows.count * sh !== inHeight || cols.count * sw !== inWidth) {
        dx = ops.slice(dx, [0, rows.offset, cols.offset, 0], [batchSize, inHeight, inWidth, ci]);
      }
      return dx;
    });
  }
  return {
    kernelName: tf.Conv2DBackpropInput,
    backendName: 'wasm',
    // The stock kernel's setup binds its wasm function; keep it bound for NCHW.
    setupFunc: stock?.setupFunc,
    kernelFunc: conv2DBackpropInput,
  };
}
