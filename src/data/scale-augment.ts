/**
 * Training crops at a random scale, as Krähenbühl et al.'s VOC
 * classification code (philkr/voc-classification) trains: each image is
 * rescaled by a factor drawn uniformly from [min, max] (0.5–2 there) before
 * the random crop, and mirrored at random.
 *
 * Scale 1 is the image as the test views see it: the `loadSize` square
 * (aspect kept, centre cropped) that the centre crop and the 10 crops come
 * from. Theirs is the stored VOC image, which their test crops are cut from
 * too, so in both the range brackets the scale the network is tested at.
 * Below crop / loadSize the rescaled image is smaller than the crop: it lands
 * at a random place inside it and the rest is the dataset's mean colour, as a
 * letterboxed image is padded.
 */
import type { Rng } from '../engine/random.js';
import { DATASET_MEAN_RGB } from './image.js';

/** Where one training crop comes from. */
export interface ScaledView {
  /** The drawn factor (1 when the loader does not rescale). */
  scale: number;
  /** Side of the square the image is decoded to: round(scale * loadSize). */
  side: number;
  /** Top-left of the crop in that square; negative when the square is smaller than the crop. */
  y: number;
  x: number;
  mirror: boolean;
}

/** [min, max] factors; absent: every crop at scale 1. */
export type ScaleRange = readonly [number, number];

/**
 * One crop's draws, in this order: the scale (only with a range), offset y,
 * offset x, mirror. Without a range these are exactly the draws of the
 * one-scale crop (cropBatch), so adding the option changed no existing run.
 */
export function drawView(rng: Rng, loadSize: number, crop: number, range: ScaleRange | undefined): ScaledView {
  if (!range) {
    const room = loadSize - crop + 1;
    return { scale: 1, side: loadSize, y: rng.int(room), x: rng.int(room), mirror: rng.next() < 0.5 };
  }
  const scale = rng.uniform(range[0], range[1]);
  const side = Math.max(1, Math.round(scale * loadSize));
  // Larger square: the crop starts anywhere inside it; smaller: the square starts anywhere inside the crop.
  const slack = side - crop;
  const offset = (): number => Math.min(0, slack) + rng.int(Math.abs(slack) + 1);
  const y = offset();
  const x = offset();
  return { scale, side, y, x, mirror: rng.next() < 0.5 };
}

/** The mean colour in [-1, 1], what a crop holds where the rescaled image does not reach. */
const PAD = DATASET_MEAN_RGB.map((v) => v / 127.5 - 1);

/**
 * Copies the crop of side `crop` at `view` (mirrored when asked) of a square
 * HWC image of side `view.side` into `out` at `offset`; pixels outside the
 * image are the mean colour.
 */
export function copyView(src: Float32Array, view: ScaledView, crop: number, out: Float32Array, offset: number): void {
  const { side } = view;
  for (let y = 0; y < crop; y++) {
    const sy = view.y + y;
    for (let x = 0; x < crop; x++) {
      const sx = view.mirror ? view.x + crop - 1 - x : view.x + x;
      const d = offset + (y * crop + x) * 3;
      if (sy < 0 || sy >= side || sx < 0 || sx >= side) {
        out[d] = PAD[0];
        out[d + 1] = PAD[1];
        out[d + 2] = PAD[2];
        continue;
      }
      const s = (sy * side + sx) * 3;
      out[d] = src[s];
      out[d + 1] = src[s + 1];
      out[d + 2] = src[s + 2];
    }
  }
}
