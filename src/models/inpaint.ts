/**
 * The one inpainting scorer: a generator fills the holes of images and each
 * image is scored over its hole (L1, L2, PSNR on intensities in [0, 1]),
 * beside the mean-colour fill of the same hole. The inpainting task, the
 * pretext methods' held-out masked L2 and `bench inpaint` all score with it.
 */
import * as tf from '@tensorflow/tfjs';
import { applyMask, type Mask } from '../data/masks.js';
import { inpaintingScores, type InpaintingScores } from '../metrics/index.js';

/** [-1, 1] -> [0, 1], clamped against rounding at the ends. */
function toUnit(values: Float32Array): Float32Array {
  return values.map((v) => Math.min(1, Math.max(0, (v + 1) / 2)));
}

/** The original with the generator's prediction pasted into the hole. */
function pasteHole(original: Float32Array, prediction: Float32Array, mask: Mask): Float32Array {
  const out = original.slice();
  for (let p = 0; p < mask.fill.length; p++) {
    if (mask.fill[p] === 0) continue;
    for (let c = 0; c < 3; c++) out[p * 3 + c] = prediction[p * 3 + c];
  }
  return out;
}

export interface InpaintedImage {
  masked: Float32Array;
  /** Prediction pasted into the hole, in [-1, 1]. */
  filled: Float32Array;
  scores: InpaintingScores;
  /** The mean-colour fill's scores on the same hole. */
  baseline: InpaintingScores;
}

/** Fills the holes of HWC images in [-1, 1] with `generator` and scores each over its hole. */
export async function inpaintImages(generator: tf.LayersModel, images: Float32Array[], masks: Mask[]): Promise<InpaintedImage[]> {
  const size = masks[0].size;
  const out: InpaintedImage[] = [];
  const batch = 16;
  for (let start = 0; start < images.length; start += batch) {
    const chunk = images.slice(start, start + batch);
    const masked = chunk.map((im, i) => applyMask(im, masks[start + i]));
    const input = new Float32Array(chunk.length * size * size * 3);
    masked.forEach((m, i) => input.set(m, i * size * size * 3));
    const pred = tf.tidy(() => generator.predict(tf.tensor4d(input, [chunk.length, size, size, 3])) as tf.Tensor);
    const values = (await pred.data()) as Float32Array;
    pred.dispose();
    chunk.forEach((truth, i) => {
      const mask = masks[start + i];
      const prediction = values.subarray(i * size * size * 3, (i + 1) * size * size * 3);
      const truthUnit = toUnit(truth);
      out.push({
        masked: masked[i],
        filled: pasteHole(truth, prediction, mask),
        scores: inpaintingScores(toUnit(prediction), truthUnit, mask.fill),
        baseline: inpaintingScores(toUnit(masked[i]), truthUnit, mask.fill),
      });
    });
  }
  return out;
}

