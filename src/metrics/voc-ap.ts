import { rankByScore } from './rank.js';

/**
 * Average precision for ranked binary labels, as used by PASCAL VOC
 * classification (and, through `interpolatedAP`, detection).
 *
 * Labels are VOC's: 1 = positive, -1 = negative, 0 = "difficult only" and
 * ignored. Dropping 0-labelled items gives the same AP as the devkit, which
 * keeps them in the ranking with neither a TP nor an FP: they only repeat an
 * existing precision/recall point (or produce 0/0, which MATLAB's max skips).
 */

export type ApMethod = 'voc07' | 'area' | 'sklearn';

/**
 * Average precision of `scores` against `labels` (1 / -1 / 0, 0 ignored).
 *
 * - `'voc07'` (default): VOC2007 11-point interpolated AP, the mean over
 *   t in {0, 0.1, ..., 1} of the highest precision at recall >= t (0 if none).
 * - `'area'`: VOC2010+ devkit, area under the monotone (right-to-left running
 *   max) precision envelope.
 * - `'sklearn'`: scikit-learn's `average_precision_score`,
 *   sum over thresholds of (R_n - R_{n-1}) * P_n, no interpolation.
 *
 * Ties: for 'voc07' and 'area', items are ranked by descending score with a
 * stable sort, as the devkit's MATLAB `sort(-out)` does, so equal scores keep
 * their input order and the AP can depend on it. For 'sklearn', equal scores
 * form one threshold (all of them enter the ranking together), so the order
 * does not matter.
 *
 * Returns NaN when there is no positive (after ignoring 0 labels): AP is
 * undefined there (the devkit gives 0 or NaN depending on the variant);
 * `meanAP` skips NaN.
 */
export function averagePrecision(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  method: ApMethod = 'voc07',
): number {
  if (scores.length !== labels.length) {
    throw new RangeError(`averagePrecision: ${scores.length} scores but ${labels.length} labels`);
  }
  const kept: number[] = [];
  let npos = 0;
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i];
    if (label !== 1 && label !== -1 && label !== 0) {
      throw new RangeError(`averagePrecision: label ${label} at index ${i}; labels must be 1, -1 or 0`);
    }
    if (Number.isNaN(scores[i])) throw new RangeError(`averagePrecision: score at index ${i} is NaN`);
    if (label === 0) continue;
    kept.push(i);
    if (label === 1) npos++;
  }
  if (npos === 0) return NaN;
  const order = rankByScore(kept, (i) => scores[i]);
  if (method === 'sklearn') return stepAP(order, scores, labels, npos);
  return interpolatedAP(order.map((i) => labels[i] === 1), npos, method);
}

/**
 * VOC AP from a ranking already made: `hits[k]` is true when the k-th ranked
 * item is a true positive, false when it is a false positive (ignored items
 * left out); `npos` is the number of positives that recall is measured
 * against (it may exceed the hits, e.g. missed detections).
 *
 * The 11 recall thresholds are exactly k/10, so a recall of exactly 3/10
 * meets t = 0.3. MATLAB's `0:0.1:1` and numpy's `arange(0, 1.1, 0.1)` hold
 * 0.30000000000000004 (numpy also 0.6000000000000001, 0.7000000000000001), so
 * they can drop such exact-boundary recalls; we follow the definition.
 */
export function interpolatedAP(hits: readonly boolean[], npos: number, method: 'voc07' | 'area' = 'voc07'): number {
  if (!(npos > 0)) return NaN;
  const n = hits.length;
  const rec = new Float64Array(n);
  const prec = new Float64Array(n);
  let tp = 0;
  for (let k = 0; k < n; k++) {
    if (hits[k]) tp++;
    rec[k] = tp / npos;
    prec[k] = tp / (k + 1);
  }
  if (method === 'voc07') {
    let ap = 0;
    for (let step = 0; step <= 10; step++) {
      const t = step / 10;
      let p = 0;
      for (let k = 0; k < n; k++) if (rec[k] >= t && prec[k] > p) p = prec[k];
      ap += p / 11;
    }
    return ap;
  }
  // VOCap.m: sentinels at recall 0 and 1, running max from the right, then
  // sum the rectangles where recall changes.
  const mrec = [0, ...rec, 1];
  const mpre = [0, ...prec, 0];
  for (let k = mpre.length - 2; k >= 0; k--) mpre[k] = Math.max(mpre[k], mpre[k + 1]);
  let ap = 0;
  for (let k = 1; k < mrec.length; k++) {
    if (mrec[k] !== mrec[k - 1]) ap += (mrec[k] - mrec[k - 1]) * mpre[k];
  }
  return ap;
}

/** Mean of the values that are not NaN (classes without positives); NaN if none. */
export function meanAP(values: ArrayLike<number>): number {
  let sum = 0;
  let count = 0;
  for (let i = 0; i < values.length; i++) {
    if (Number.isNaN(values[i])) continue;
    sum += values[i];
    count++;
  }
  return count === 0 ? NaN : sum / count;
}

function stepAP(order: readonly number[], scores: ArrayLike<number>, labels: ArrayLike<number>, npos: number): number {
  let tp = 0;
  let fp = 0;
  let prevRecall = 0;
  let ap = 0;
  for (let k = 0; k < order.length; k++) {
    if (labels[order[k]] === 1) tp++;
    else fp++;
    const lastOfThreshold = k === order.length - 1 || scores[order[k + 1]] !== scores[order[k]];
    if (!lastOfThreshold) continue;
    const recall = tp / npos;
    ap += (recall - prevRecall) * (tp / (tp + fp));
    prevRecall = recall;
  }
  return ap;
}
