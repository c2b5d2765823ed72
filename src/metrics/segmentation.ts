/**
 * Pixel confusion matrix, rows = truth class, columns = predicted class.
 *
 * Pixels whose truth is `ignore` (default 255: VOC object borders and void)
 * or outside [0, numClasses) are skipped, as FCN's `fast_hist` does. A
 * prediction that is not an integer in [0, numClasses) is a bug in the caller
 * and throws, even on a skipped pixel. To accumulate over images, add the
 * matrices (or pass the concatenated pixels).
 */
export function confusionMatrix(
  pred: ArrayLike<number>,
  truth: ArrayLike<number>,
  numClasses: number,
  ignore = 255,
): number[][] {
  if (!Number.isInteger(numClasses) || numClasses < 1) {
    throw new RangeError(`confusionMatrix: numClasses ${numClasses} must be a positive integer`);
  }
  if (pred.length !== truth.length) {
    throw new RangeError(`confusionMatrix: ${pred.length} predicted pixels but ${truth.length} truth pixels`);
  }
  const n = numClasses;
  const counts = new Float64Array(n * n);
  for (let i = 0; i < pred.length; i++) {
    const p = pred[i];
    if (!Number.isInteger(p) || p < 0 || p >= n) {
      throw new RangeError(`confusionMatrix: prediction ${p} at pixel ${i} is not a class in [0, ${n})`);
    }
    const t = truth[i];
    if (t === ignore) continue;
    if (!Number.isInteger(t)) throw new RangeError(`confusionMatrix: truth ${t} at pixel ${i} is not an integer`);
    if (t < 0 || t >= n) continue;
    counts[t * n + p]++;
  }
  return Array.from({ length: n }, (_, r) => Array.from(counts.subarray(r * n, (r + 1) * n)));
}

/**
 * Per-class IoU = TP / (TP + FP + FN) from a confusion matrix (rows truth,
 * columns prediction), as the VOC2011+ devkit computes it.
 *
 * A class with TP + FP + FN = 0 (absent from both truth and prediction) gets
 * NaN, and `mean` is the mean over the other classes (numpy's nanmean, as in
 * FCN's score.py; the MATLAB devkit's plain mean would be NaN). Background is
 * a class like any other. `mean` is NaN when every class is NaN.
 */
export function meanIoU(confusion: readonly (readonly number[])[]): { perClass: number[]; mean: number } {
  const n = checkSquare(confusion, 'meanIoU');
  const perClass: number[] = [];
  for (let c = 0; c < n; c++) {
    let row = 0;
    let col = 0;
    for (let k = 0; k < n; k++) {
      row += confusion[c][k];
      col += confusion[k][c];
    }
    const tp = confusion[c][c];
    const denom = row + col - tp;
    perClass.push(denom === 0 ? NaN : tp / denom);
  }
  const present = perClass.filter((v) => !Number.isNaN(v));
  const mean = present.length === 0 ? NaN : present.reduce((a, b) => a + b, 0) / present.length;
  return { perClass, mean };
}

/** Fraction of counted pixels predicted correctly (trace / total); NaN for an empty matrix. */
export function pixelAccuracy(confusion: readonly (readonly number[])[]): number {
  const n = checkSquare(confusion, 'pixelAccuracy');
  let correct = 0;
  let total = 0;
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) total += confusion[r][c];
    correct += confusion[r][r];
  }
  return total === 0 ? NaN : correct / total;
}

function checkSquare(confusion: readonly (readonly number[])[], fn: string): number {
  const n = confusion.length;
  if (n === 0 || confusion.some((row) => row.length !== n)) {
    throw new RangeError(`${fn}: confusion matrix must be square and non-empty`);
  }
  return n;
}
