/**
 * How much of a frozen layer the probes (knn, linear) read: Zhang et al.
 * (2017) average-pool each AlexNet layer to about 9,000 values so that layers
 * of very different sizes (conv1 55x55x96 = 290k, pool5 9k) are compared at
 * one feature size; at 227 px that gives conv1 10x10x96, conv2 6x6x256,
 * conv3 and conv4 5x5x384, conv5 6x6x256.
 */
import type { JsonSchema } from '../registry/registry.js';

export const DEFAULT_PROBE_DIMS = 9000;

/** The field both probe protocols declare: in a job's key only for jobs of those protocols. */
export const PROBE_DIMS_FIELD: JsonSchema = {
  type: 'integer',
  minimum: 0,
  default: DEFAULT_PROBE_DIMS,
  description:
    "knn and linear protocols: average-pool the layer's map to the grid (same aspect, every channel kept) whose size is closest to this many values per image, as Zhang et al. 2017 pool each AlexNet layer to about 9k (at 227 px: conv1 10x10x96, conv2 6x6x256, conv3/conv4 5x5x384, conv5 6x6x256). A layer of at most this many values is read whole; 0 never pools.",
};

/**
 * The output grid [height, width] for an h x w x c map: the one whose
 * size (grid cells x c) is closest to `targetDims`, ties to the smaller. A
 * map already at or below the target (or a target of 0) keeps its size, so
 * small encoders' layers are read exactly as before.
 */
export function probeGrid(height: number, width: number, channels: number, targetDims: number): [number, number] {
  if (targetDims <= 0 || height * width * channels <= targetDims) return [height, width];
  let best: [number, number] = [height, width];
  let bestGap = Infinity;
  for (let h = 1; h <= height; h++) {
    const w = Math.min(width, Math.max(1, Math.round((h * width) / height)));
    const gap = Math.abs(h * w * channels - targetDims);
    if (gap < bestGap) {
      best = [h, w];
      bestGap = gap;
    }
  }
  return best;
}
