import { rankByScore } from './rank.js';
import { interpolatedAP } from './voc-ap.js';

/** [xmin, ymin, xmax, ymax] in pixels, inclusive (as in VOC annotations). */
export type Box = [number, number, number, number];

export interface Detection {
  image: string;
  score: number;
  box: Box;
}

export interface TruthBox {
  image: string;
  box: Box;
  difficult?: boolean;
}

export interface DetectionAPOptions {
  /** Minimum IoU for a match, inclusive (>=). Default 0.5, the devkit's `minoverlap`. */
  iou?: number;
  /** 'voc07' (default, 11-point) or 'area' (VOC2010+); see `averagePrecision`. */
  method?: 'voc07' | 'area';
}

/**
 * Intersection over union of two inclusive pixel boxes: widths and heights
 * count pixels, x2 - x1 + 1, as VOCevaldet.m does. 0 when they do not overlap.
 */
export function boxIoU(a: Box, b: Box): number {
  const iw = Math.min(a[2], b[2]) - Math.max(a[0], b[0]) + 1;
  const ih = Math.min(a[3], b[3]) - Math.max(a[1], b[1]) + 1;
  if (iw <= 0 || ih <= 0) return 0;
  const inter = iw * ih;
  const union = (a[2] - a[0] + 1) * (a[3] - a[1] + 1) + (b[2] - b[0] + 1) * (b[3] - b[1] + 1) - inter;
  return inter / union;
}

/**
 * Average precision of one class's detections against that class's ground
 * truth, by the VOC devkit's VOCevaldet.m rules:
 * - detections are ranked by descending score (stable: equal scores keep
 *   input order, as MATLAB's sort does);
 * - each detection is compared with every truth box of its image and takes
 *   the one of highest IoU (the first on ties), matched or not;
 * - IoU >= `iou` with a non-difficult box not yet matched: true positive, and
 *   the box is now matched; with an already matched box: false positive
 *   (duplicate), even if another unmatched box also overlaps enough;
 * - IoU >= `iou` with a difficult box: neither TP nor FP (the box stays
 *   unmatched, so repeats on it are ignored too);
 * - otherwise (including images with no truth box of the class) a false
 *   positive;
 * - recall is over the non-difficult boxes only.
 *
 * Returns NaN when there is no non-difficult truth box (AP undefined; the
 * devkit gives 0 or NaN depending on the variant), so `meanAP` can skip it.
 */
export function detectionAP(
  detections: readonly Detection[],
  truth: readonly TruthBox[],
  options: DetectionAPOptions = {},
): number {
  const minIoU = options.iou ?? 0.5;
  if (!(minIoU >= 0 && minIoU <= 1)) throw new RangeError(`detectionAP: iou ${minIoU} must be in [0, 1]`);

  const byImage = new Map<string, { boxes: Box[]; difficult: boolean[]; matched: boolean[] }>();
  let npos = 0;
  for (const t of truth) {
    checkBox(t.box, `truth box of image ${t.image}`);
    let entry = byImage.get(t.image);
    if (!entry) {
      entry = { boxes: [], difficult: [], matched: [] };
      byImage.set(t.image, entry);
    }
    entry.boxes.push(t.box);
    entry.difficult.push(t.difficult === true);
    entry.matched.push(false);
    if (t.difficult !== true) npos++;
  }
  if (npos === 0) return NaN;

  detections.forEach((d, k) => {
    if (Number.isNaN(d.score)) throw new RangeError(`detectionAP: detection ${k} (image ${d.image}) has a NaN score`);
    checkBox(d.box, `detection ${k} (image ${d.image})`);
  });
  const order = rankByScore(
    detections.map((_, k) => k),
    (k) => detections[k].score,
  );

  const hits: boolean[] = [];
  for (const k of order) {
    const d = detections[k];
    const gt = byImage.get(d.image);
    let best = -1;
    let bestIoU = 0;
    if (gt) {
      for (let j = 0; j < gt.boxes.length; j++) {
        const ov = boxIoU(d.box, gt.boxes[j]);
        if (ov > bestIoU) {
          bestIoU = ov;
          best = j;
        }
      }
    }
    if (!gt || best < 0 || bestIoU < minIoU) {
      hits.push(false);
    } else if (gt.difficult[best]) {
      continue;
    } else if (gt.matched[best]) {
      hits.push(false);
    } else {
      gt.matched[best] = true;
      hits.push(true);
    }
  }
  return interpolatedAP(hits, npos, options.method ?? 'voc07');
}

function checkBox(box: Box, what: string): void {
  if (box.length !== 4 || !box.every(Number.isFinite)) {
    throw new RangeError(`detectionAP: ${what} is not four finite numbers: [${box.join(', ')}]`);
  }
}
