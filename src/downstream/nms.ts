/**
 * Greedy non-maximum suppression as in Fast R-CNN's nms.py: boxes are
 * inclusive pixel boxes (width x2 - x1 + 1), and a box is dropped when its IoU
 * with an already kept, higher-scoring box exceeds the threshold.
 */
import { boxIoU, type Box } from '../metrics/detection.js';

/**
 * Indices of the boxes kept, highest score first. Equal scores keep input
 * order. `maxKeep` stops early once that many are kept.
 */
export function nms(boxes: readonly Box[], scores: readonly number[], iouThreshold: number, maxKeep = Infinity): number[] {
  if (boxes.length !== scores.length) {
    throw new RangeError(`nms: ${boxes.length} boxes but ${scores.length} scores`);
  }
  const order = boxes.map((_, i) => i).sort((a, b) => scores[b] - scores[a] || a - b);
  const suppressed = new Uint8Array(boxes.length);
  const keep: number[] = [];
  for (let k = 0; k < order.length && keep.length < maxKeep; k++) {
    const i = order[k];
    if (suppressed[i]) continue;
    keep.push(i);
    for (let m = k + 1; m < order.length; m++) {
      const j = order[m];
      if (!suppressed[j] && boxIoU(boxes[i], boxes[j]) > iouThreshold) suppressed[j] = 1;
    }
  }
  return keep;
}
