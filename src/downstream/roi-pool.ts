/**
 * RoI max pooling (Fast R-CNN, Girshick 2015) on NHWC feature maps, with the
 * Caffe ROIPooling layer's quantisation: RoI corners are scaled to the map
 * and rounded, each of the pooled x pooled bins spans floor..ceil of its
 * fractional extent, bins are clipped to the map, and an empty bin gives 0.
 *
 * The max runs in JS over each bin's own cells and records the winning cell,
 * as Caffe's forward pass does; the backward pass sends each output's
 * gradient to its winner with one ScatterNd. The all-tfjs alternative (pad
 * every bin's cell list to the largest bin, gather, max over the padding)
 * moves about 8x more data than there are cells at AlexNet sizes and ran
 * 3-4x slower on wasm.
 */
import * as tf from '@tensorflow/tfjs';
import { taping } from '../engine/taping.js';
import type { Box } from '../metrics/detection.js';

/** A region on image `batch` of the feature batch, [x1, y1, x2, y2] in input pixels (0-based, inclusive). */
export interface Roi {
  batch: number;
  box: Box;
}

export interface RoiPoolOptions {
  /** Bins per side (Fast R-CNN: 6 on AlexNet's conv5). */
  pooledSize?: number;
  /** Feature cells per input pixel (Fast R-CNN: 1/16, the conv5 stride). */
  spatialScale: number;
}

/** The cells of every (roi, bin), row-major over rois then bins. */
export interface RoiPoolPlan {
  numRois: number;
  pooledSize: number;
  /** Per bin: batch index, then the half-open cell ranges [h0, h1) and [w0, w1) (empty when h1 <= h0 or w1 <= w0). */
  bins: Int32Array;
}

/** C's round(), as Caffe uses: halves away from zero. */
function roundHalfAway(v: number): number {
  return Math.sign(v) * Math.round(Math.abs(v));
}

export function planRoiPool(rois: readonly Roi[], mapShape: readonly [number, number, number], options: RoiPoolOptions): RoiPoolPlan {
  const [n, height, width] = mapShape;
  const pooled = options.pooledSize ?? 6;
  const scale = options.spatialScale;
  const bins = new Int32Array(rois.length * pooled * pooled * 5);
  const clip = (v: number, hi: number) => Math.min(Math.max(v, 0), hi);
  let at = 0;
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
    for (let ph = 0; ph < pooled; ph++) {
      for (let pw = 0; pw < pooled; pw++) {
        bins[at++] = roi.batch;
        bins[at++] = clip(Math.floor(ph * binH) + startH, height);
        bins[at++] = clip(Math.ceil((ph + 1) * binH) + startH, height);
        bins[at++] = clip(Math.floor(pw * binW) + startW, width);
        bins[at++] = clip(Math.ceil((pw + 1) * binW) + startW, width);
      }
    }
  }
  return { numRois: rois.length, pooledSize: pooled, bins };
}

/** RoIs that pool the same cells: `representatives[g]` is the first RoI of group g, `groupOf[i]` the group of RoI i. */
export interface RoiGroups {
  representatives: number[];
  groupOf: Int32Array;
}

/**
 * Groups RoIs whose every bin covers the same cells of the same map, so their
 * pooled features, and whatever a head computes from them, are equal. A test
 * pass scores one RoI per group: the smoke's 2,237 sliding windows pool only
 * 265 distinct ways on its conv5 map, the paper's 227-px input 1,235 of 2,209.
 */
export function groupIdenticalRois(rois: readonly Roi[], mapShape: readonly [number, number, number], options: RoiPoolOptions): RoiGroups {
  const plan = planRoiPool(rois, mapShape, options);
  const perRoi = plan.pooledSize * plan.pooledSize * 5;
  const groupByBins = new Map<string, number>();
  const representatives: number[] = [];
  const groupOf = new Int32Array(rois.length);
  for (let r = 0; r < rois.length; r++) {
    const key = plan.bins.subarray(r * perRoi, (r + 1) * perRoi).join(',');
    let g = groupByBins.get(key);
    if (g === undefined) {
      g = representatives.length;
      groupByBins.set(key, g);
      representatives.push(r);
    }
    groupOf[r] = g;
  }
  return { representatives, groupOf };
}

/**
 * Max of each bin and channel over `data` ([n, height, width, channels]
 * flat), with the flat index of the first cell holding it (when `winners` is
 * asked for: only a pass under a gradient tape needs them). An empty bin
 * outputs 0 and names the spare index n * height * width * channels, one past
 * the map, so its gradient has somewhere harmless to go.
 *
 * This was the smoke's second-costliest JS: a test image's thousands of
 * sliding windows make tens of thousands of bins, yet on a conv5 map of
 * H x W cells there are at most (H(H+1)/2) x (W(W+1)/2) distinct cell
 * rectangles, so a bin whose rectangle was pooled before copies that row.
 * Each rectangle starts from its first cell, so the inner loop is one compare
 * per value; a later cell wins only when strictly greater, so the winner is
 * still the first maximal cell, and NaN behaves as before.
 */
function poolForward(data: Float32Array, shape: readonly number[], plan: RoiPoolPlan, withWinners: boolean): { values: Float32Array; winners: Int32Array | null } {
  const [n, height, width, channels] = shape;
  const spare = n * height * width * channels;
  const bins = plan.bins;
  const rows = bins.length / 5;
  const values = new Float32Array(rows * channels);
  const winners = withWinners ? new Int32Array(rows * channels).fill(spare) : null;
  // Cell rectangle -> the output offset of the first bin that pooled it.
  const pooledRows = new Map<number, number>();
  for (let r = 0; r < rows; r++) {
    const b = bins[r * 5];
    const h0 = bins[r * 5 + 1];
    const h1 = bins[r * 5 + 2];
    const w0 = bins[r * 5 + 3];
    const w1 = bins[r * 5 + 4];
    if (h1 <= h0 || w1 <= w0) continue;
    const out = r * channels;
    const key = (((b * (height + 1) + h0) * (height + 1) + h1) * (width + 1) + w0) * (width + 1) + w1;
    const seen = pooledRows.get(key);
    if (seen !== undefined) {
      values.copyWithin(out, seen, seen + channels);
      winners?.copyWithin(out, seen, seen + channels);
      continue;
    }
    pooledRows.set(key, out);
    const first = ((b * height + h0) * width + w0) * channels;
    for (let c = 0; c < channels; c++) values[out + c] = data[first + c];
    if (winners) for (let c = 0; c < channels; c++) winners[out + c] = first + c;
    for (let h = h0; h < h1; h++) {
      for (let w = h === h0 ? w0 + 1 : w0; w < w1; w++) {
        const cell = ((b * height + h) * width + w) * channels;
        if (winners) {
          for (let c = 0; c < channels; c++) {
            const v = data[cell + c];
            if (v > values[out + c]) {
              values[out + c] = v;
              winners[out + c] = cell + c;
            }
          }
        } else {
          for (let c = 0; c < channels; c++) {
            const v = data[cell + c];
            if (v > values[out + c]) values[out + c] = v;
          }
        }
      }
    }
  }
  return { values, winners };
}

/**
 * Pools `rois` from `features` ([N,H,W,C], or [H,W,C] with every roi's batch
 * 0) to [R, pooled, pooled, C]. Differentiable with respect to `features`.
 */
export function roiPool(features: tf.Tensor3D | tf.Tensor4D, rois: readonly Roi[], options: RoiPoolOptions): tf.Tensor4D {
  const shape = features.rank === 3 ? [1, ...features.shape] : features.shape;
  const [n, height, width, channels] = shape;
  const plan = planRoiPool(rois, [n, height, width], options);
  const pooled = plan.pooledSize;
  const size = n * height * width * channels;
  // Outside a gradient tape (testing) nothing needs the winners.
  if (!taping()) {
    return tf.tensor4d(poolForward(features.dataSync() as Float32Array, shape, plan, false).values, [rois.length, pooled, pooled, channels]);
  }
  const pool = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
    const { values, winners } = poolForward(x.dataSync() as Float32Array, shape, plan, true);
    save([tf.tensor2d(winners!, [winners!.length, 1], 'int32')]);
    return {
      value: tf.tensor4d(values, [rois.length, pooled, pooled, channels]),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.reshape(tf.slice(tf.scatterND(saved[0], tf.reshape(dy, [-1]), [size + 1]), 0, size), x.shape),
    };
  });
  return pool(features) as tf.Tensor4D;
}
