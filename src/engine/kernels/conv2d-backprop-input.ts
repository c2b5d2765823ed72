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
 *
 * That convolution also multiplies the zero padding around dy: 13% extra
 * work for a 16x16 dy under 4x4/2 filters, 56% at 4x4, but 16x for the
 * 1x1 -> 4x4 up-convolution of a DCGAN bottleneck. Where it would do more
 * than 1.4x the useful work, the kernel instead multiplies dy by the filter
 * as a matrix (XNNPACK fully-connected) and adds the per-pixel patches into
 * place (col2im). Measured (batch 16, min of 5, interleaved): 4x4 dy under
 * 4x4/2 filters 512 -> 256 channels, 56% waste, 90 ms phase-split against
 * 70 ms as a matrix product; at 8x8 dy (27% waste) and 16x16 (13%) the two
 * are within noise of each other, and at 32x32 -> 3 channels the phase split
 * is 2x faster.
 */
import * as tf from '@tensorflow/tfjs';
import { fitDy, withWasmOps, type WasmOps } from './wasm-ops.js';

type Shape4 = [number, number, number, number];

/** Rows (or columns) of the phase-split convolution that cover the input along one axis. */
interface PhaseRange {
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
function phaseRange(padStart: number, size: number, stride: number, taps: number, dySize: number): PhaseRange {
  const first = Math.floor(padStart / stride);
  const last = Math.floor((padStart + size - 1) / stride);
  const count = last - first + 1;
  const padBefore = taps - 1 - first;
  return { count, padBefore, padAfter: count + taps - 1 - padBefore - dySize, offset: padStart - stride * first };
}

/**
 * G[j, jw, co, (a, b, ci)] = W[sh*(jh-1-j) + a, sw*(jw-1-jw) + b, ci, co]: the
 * flipped phase filters with in/out channels swapped, zero past the kernel.
 */
function phaseFilter(ops: WasmOps, filter: tf.TensorInfo, sh: number, sw: number): tf.TensorInfo {
  const [kh, kw, ci, co] = filter.shape as Shape4;
  const jh = Math.ceil(kh / sh);
  const jw = Math.ceil(kw / sw);
  const phases = sh * sw * ci;
  const { info, data: g } = ops.alloc([jh, jw, co, phases], filter.dtype, kh % sh !== 0 || kw % sw !== 0);
  const w = ops.view(filter);
  // Each tap is a [Ci, Co] -> [Co, Ci] transpose into a strided destination;
  // in blocks, so neither side strides through memory a cache line per element.
  const B = 16;
  for (let y = 0; y < kh; y++) {
    for (let x = 0; x < kw; x++) {
      const src = (y * kw + x) * ci * co;
      const tap = (jh - 1 - Math.floor(y / sh)) * jw + (jw - 1 - Math.floor(x / sw));
      const dst = tap * co * phases + ((y % sh) * sw + (x % sw)) * ci;
      for (let c0 = 0; c0 < ci; c0 += B) {
        const c1 = Math.min(ci, c0 + B);
        for (let o0 = 0; o0 < co; o0 += B) {
          const o1 = Math.min(co, o0 + B);
          for (let o = o0; o < o1; o++) {
            for (let c = c0, s = src + c0 * co + o, d = dst + o * phases + c0; c < c1; c++, s += co, d++) g[d] = w[s];
          }
        }
      }
    }
  }
  return info;
}

function viaPhaseConv(ops: WasmOps, dy: tf.TensorInfo, filter: tf.TensorInfo, info: tf.backend_util.Conv2DInfo,
  rows: PhaseRange, cols: PhaseRange): tf.TensorInfo {
  const { batchSize: n, strideHeight: sh, strideWidth: sw, inHeight: h, inWidth: w, inChannels: ci } = info;
  const y = ops.conv2d(dy, phaseFilter(ops, filter, sh, sw), [1, 1], {
    top: rows.padBefore, bottom: rows.padAfter, left: cols.padBefore, right: cols.padAfter,
  });
  if (sh === 1 && sw === 1 && rows.count === h && cols.count === w) return y;
  // Depth-to-space and crop in one pass: dx[n, r, c] = y[n, (r+offR)/sh, (c+offC)/sw, phase].
  const { info: dx, data: out } = ops.alloc([n, h, w, ci], y.dtype);
  const src = ops.view(y);
  const pixel = sh * sw * ci;
  for (let b = 0, o = 0; b < n; b++) {
    for (let r = 0; r < h; r++) {
      const rr = r + rows.offset;
      const rowBase = (b * rows.count + Math.floor(rr / sh)) * cols.count * pixel + (rr % sh) * sw * ci;
      for (let c = 0; c < w; c++, o += ci) {
        const cc = c + cols.offset;
        const s = rowBase + Math.floor(cc / sw) * pixel + (cc % sw) * ci;
        for (let k = 0; k < ci; k++) out[o + k] = src[s + k];
      }
    }
  }
  return dx;
}

function viaMatMul(ops: WasmOps, dy: tf.TensorInfo, filter: tf.TensorInfo, info: tf.backend_util.Conv2DInfo): tf.TensorInfo {
  const { batchSize: n, strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw } = info;
  const { inHeight: h, inWidth: w, inChannels: ci, outChannels: co, outHeight: oh, outWidth: ow } = info;
  const { top, left } = info.padInfo;
  const pixels = n * oh * ow;
  // patches^T [KH*KW*Ci, pixels] = W [KH*KW*Ci, Co] x dy^T [Co, pixels]: the big
  // filter is XNNPACK's streamed operand and only the small dy^T gets packed.
  const dyT = ops.transpose(ops.reshape(dy, [pixels, co]), [1, 0]);
  const patchesT = ops.run('BatchMatMul', {
    a: ops.reshape(filter, [1, kh * kw * ci, co]),
    b: ops.reshape(dyT, [1, co, pixels]),
  }, { transposeA: false, transposeB: false });
  const { info: dx, data: out } = ops.alloc([n, h, w, ci], dy.dtype, true);
  const p = ops.view(patchesT);
  for (let b = 0, pixel = 0; b < n; b++) {
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++, pixel++) {
        for (let y = 0; y < kh; y++) {
          const r = i * sh + y - top;
          if (r < 0 || r >= h) continue;
          for (let x = 0; x < kw; x++) {
            const c = j * sw + x - left;
            if (c < 0 || c >= w) continue;
            const o = ((b * h + r) * w + c) * ci;
            for (let k = 0, s = (y * kw + x) * ci * pixels + pixel; k < ci; k++, s += pixels) out[o + k] += p[s];
          }
        }
      }
    }
  }
  return dx;
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
    const { strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw } = info;
    const rows = phaseRange(info.padInfo.top, info.inHeight, sh, Math.ceil(kh / sh), info.outHeight);
    const cols = phaseRange(info.padInfo.left, info.inWidth, sw, Math.ceil(kw / sw), info.outWidth);
    const phaseWork = rows.count * cols.count * Math.ceil(kh / sh) * Math.ceil(kw / sw) * sh * sw;
    const usefulWork = info.outHeight * info.outWidth * kh * kw;
    return withWasmOps(backend, (ops) => {
      const grad = fitDy(ops, tf.Conv2DBackpropInput, dy, info.outShape);
      return phaseWork > 1.4 * usefulWork ? viaMatMul(ops, grad, filter, info) : viaPhaseConv(ops, grad, filter, info, rows, cols);
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
