/**
 * RoI max pooling (Fast R-CNN, Girshick 2015) on NHWC feature maps, with the
 * Caffe ROIPooling layer's quantisation: RoI corners are scaled to the map
 * and rounded, each of the pooled x pooled bins spans floor..ceil of its
 * fractional extent, bins are clipped to the map, and an empty bin gives 0.
 *
 * The bin -> cell lists are worked out in JS; the pooling itself is one
 * gather and one max. tfjs-backend-wasm has no UnsortedSegmentSum kernel, the
 * gather gradient, so the gradient is written out: each output value flows to
 * the single cell that won its max (as Caffe's argmax does), by ScatterNd.
 */
import * as tf from '@tensorflow/tfjs';
import type { Box } from '../metrics/detection.js';

/** A region on image `batch` of the feature batch, [x1, y1, x2, y2] in input pixels (0-based, inclusive). */
export interface Roi {
  batch: number;
  box: Box;
}

export interface RoiPoolOptions {
  /** Bins per side (Fast R-CNN: 6 on AlexNet's conv5). */
  pooledSize?: number;
  /** Feature cells per input pixel (1/16 for AlexNet conv5, as Fast R-CNN uses). */
  spatialScale: number;
}

/** Per (roi, bin), the flat cell indices it maxes over, padded with the sentinel index. */
export interface RoiPoolPlan {
  numRois: number;
  pooledSize: number;
  /** Most cells of any bin; every bin's list is padded to this length. */
  binCells: number;
  /** [numRois * pooledSize^2 * binCells] indices into the [N*H*W + 1, C] flattened map; N*H*W is the sentinel. */
  cells: Int32Array;
  /** [numRois * pooledSize^2]: 1 when the bin covers at least one cell, 0 when it is empty. */
  filled: Float32Array;
}

/** Value of the appended row: loses every max against real activations, never gets a gradient that matters. */
const SENTINEL = -1e9;

/** C's round(), as Caffe uses: halves away from zero. */
function roundHalfAway(v: number): number {
  return Math.sign(v) * Math.round(Math.abs(v));
}

export function planRoiPool(
  rois: readonly Roi[],
  mapShape: readonly [number, number, number],
  options: RoiPoolOptions,
): RoiPoolPlan {
  const [n, height, width] = mapShape;
  const pooled = options.pooledSize ?? 6;
  const scale = options.spatialScale;
  const bins = pooled * pooled;
  const sentinel = n * height * width;
  const ranges: number[][] = [];
  let binCells = 1;
  for (const roi of rois) {
    if (!Number.isInteger(roi.batch) || roi.batch < 0 || roi.batch >= n) {
      throw new RangeError(`planRoiPool: roi batch index ${roi.batch} outside [0, ${n})`);
    }
    const startW = roundHalfAway(roi.box[0] * scale);
    const startH = roundHalfAway(roi.box[1] * scale);
    const endW = roundHalfAway(roi.box[2] * scale);
    const endH = roundHalfAway(roi.box[3] * scale);
    const binH = Math.max(endH - startH + 1, 1) / pooled;
    const binW = Math.max(endW - startW + 1, 1) / pooled;
    const clip = (v: number, hi: number) => Math.min(Math.max(v, 0), hi);
    for (let ph = 0; ph < pooled; ph++) {
      const h0 = clip(Math.floor(ph * binH) + startH, height);
      const h1 = clip(Math.ceil((ph + 1) * binH) + startH, height);
      for (let pw = 0; pw < pooled; pw++) {
        const w0 = clip(Math.floor(pw * binW) + startW, width);
        const w1 = clip(Math.ceil((pw + 1) * binW) + startW, width);
        const count = Math.max(h1 - h0, 0) * Math.max(w1 - w0, 0);
        binCells = Math.max(binCells, count);
        ranges.push([roi.batch, h0, h1, w0, w1]);
      }
    }
  }
  const cells = new Int32Array(rois.length * bins * binCells).fill(sentinel);
  const filled = new Float32Array(rois.length * bins);
  ranges.forEach(([b, h0, h1, w0, w1], k) => {
    let j = k * binCells;
    for (let h = h0; h < h1; h++) {
      for (let w = w0; w < w1; w++) cells[j++] = (b * height + h) * width + w;
    }
    filled[k] = j > k * binCells ? 1 : 0;
  });
  return { numRois: rois.length, pooledSize: pooled, binCells, cells, filled };
}

/**
 * Pools `rois` from `features` ([N,H,W,C], or [H,W,C] with every roi's batch
 * 0) to [R, pooled, pooled, C]. Differentiable with respect to `features`.
 */
export function roiPool(features: tf.Tensor3D | tf.Tensor4D, rois: readonly Roi[], options: RoiPoolOptions): tf.Tensor4D {
  return tf.tidy(() => {
    const map = features.rank === 3 ? (features.expandDims(0) as tf.Tensor4D) : (features as tf.Tensor4D);
    const [n, height, width, channels] = map.shape;
    const plan = planRoiPool(rois, [n, height, width], options);
    const { numRois, pooledSize: pooled, binCells } = plan;
    const rows = numRois * pooled * pooled;
    const cellsT = tf.tensor1d(plan.cells, 'int32');
    const filledT = tf.tensor2d(plan.filled, [rows, 1]);

    const pool = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
      const flat = tf.concat([tf.reshape(x, [n * height * width, channels]), tf.fill([1, channels], SENTINEL)]);
      const gathered = tf.reshape(tf.gather(flat, cellsT), [rows, binCells, channels]);
      const winner = tf.argMax(gathered, 1);
      save([cellsT, filledT, winner]);
      const value = tf.mul(tf.max(gathered, 1), filledT);
      return {
        value: tf.reshape(value, [numRois, pooled, pooled, channels]),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [cells, filledMask, argmax] = saved;
          // Flat cell index of each output value's winner: cells[row * binCells + argmax].
          const rowBase = tf.reshape(tf.mul(tf.range(0, rows, 1, 'int32'), tf.scalar(binCells, 'int32')), [rows, 1]);
          const source = tf.gather(cells, tf.add(argmax, rowBase));
          const target = tf.add(tf.mul(source, tf.scalar(channels, 'int32')), tf.range(0, channels, 1, 'int32'));
          const grad = tf.mul(tf.reshape(dy, [rows, channels]), filledMask);
          const total = (n * height * width + 1) * channels;
          const scattered = tf.scatterND(tf.reshape(target, [rows * channels, 1]), tf.reshape(grad, [rows * channels]), [total]);
          return tf.reshape(tf.slice(scattered, 0, n * height * width * channels), x.shape);
        },
      };
    });
    return pool(map) as tf.Tensor4D;
  });
}
