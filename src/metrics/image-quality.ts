export interface InpaintingScores {
  /** Mean absolute error over the hole, intensities in [0, 1]. */
  l1: number;
  /** Mean squared error over the hole (the paper's "L2"). */
  l2: number;
  /** 10 * log10(1 / l2) in dB; Infinity when l2 = 0. */
  psnr: number;
}

/**
 * Reconstruction error over the hole only (pixels where mask > 0), on
 * intensities in [0, 1].
 *
 * `mask` is either one value per element of `pred` or one per pixel of an
 * interleaved multi-channel image (HWC): when pred.length is c * mask.length,
 * each mask value covers c consecutive elements. Values outside [0, 1]
 * (e.g. images still in [-1, 1]) and an empty hole throw.
 */
export function inpaintingScores(
  pred: ArrayLike<number>,
  truth: ArrayLike<number>,
  mask: ArrayLike<number>,
): InpaintingScores {
  if (pred.length !== truth.length) {
    throw new RangeError(`inpaintingScores: pred has ${pred.length} values but truth has ${truth.length}`);
  }
  if (mask.length === 0 || pred.length % mask.length !== 0) {
    throw new RangeError(
      `inpaintingScores: mask of ${mask.length} values does not cover ${pred.length} values (need equal length or a whole number of channels per mask value)`,
    );
  }
  const channels = pred.length / mask.length;
  let abs = 0;
  let sq = 0;
  let count = 0;
  for (let i = 0; i < pred.length; i++) {
    const x = pred[i];
    const y = truth[i];
    if (!(x >= 0 && x <= 1 && y >= 0 && y <= 1)) {
      throw new RangeError(`inpaintingScores: value at index ${i} (pred ${x}, truth ${y}) is outside [0, 1]`);
    }
    if (!(mask[Math.floor(i / channels)] > 0)) continue;
    const d = x - y;
    abs += Math.abs(d);
    sq += d * d;
    count++;
  }
  if (count === 0) throw new RangeError('inpaintingScores: the mask selects no pixel');
  const l2 = sq / count;
  return { l1: abs / count, l2, psnr: l2 === 0 ? Infinity : 10 * Math.log10(1 / l2) };
}

/**
 * Per-image average of l1, l2 and psnr, as the paper reports them (PSNR is the
 * mean of per-image PSNRs, not the PSNR of the mean squared error). One
 * perfect image (psnr Infinity) makes the mean psnr Infinity. NaN for an
 * empty list.
 */
export function meanInpaintingScores(list: readonly InpaintingScores[]): InpaintingScores {
  if (list.length === 0) return { l1: NaN, l2: NaN, psnr: NaN };
  const mean = (key: keyof InpaintingScores) => list.reduce((sum, s) => sum + s[key], 0) / list.length;
  return { l1: mean('l1'), l2: mean('l2'), psnr: mean('psnr') };
}
