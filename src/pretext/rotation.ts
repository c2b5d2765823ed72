/**
 * RotNet (Gidaris et al. 2018): predict which of 0, 90, 180, 270 degrees an
 * image was rotated by; the classic self-supervised positive control.
 */
import { CLASSIFIER_FIELDS, trainClassifier, type ClassifierConfig } from './classifier-training.js';
import { registerPretext } from './registry.js';

/** Image HWC (side `size`) rotated by quarter turns `k` counter-clockwise. */
export function rotateQuarterTurns(image: Float32Array, size: number, k: number): Float32Array {
  const out = new Float32Array(image.length);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      // Output pixel (y, x) reads the source pixel that lands there after k turns.
      const [sy, sx] = k === 0 ? [y, x] : k === 1 ? [x, size - 1 - y] : k === 2 ? [size - 1 - y, size - 1 - x] : [size - 1 - x, y];
      const s = (sy * size + sx) * 3;
      const d = (y * size + x) * 3;
      out[d] = image[s];
      out[d + 1] = image[s + 1];
      out[d + 2] = image[s + 2];
    }
  }
  return out;
}

registerPretext<ClassifierConfig>({
  name: 'rotation',
  description: 'RotNet: predict the rotation (0/90/180/270 degrees) of each image (Gidaris et al. 2018), no labels',
  config: CLASSIFIER_FIELDS,
  needs: { labels: false },
  produces: { encoder: true, generator: false },
  train: (job, ctx) =>
    trainClassifier(job, ctx, {
      classes: () => 4,
      batch(images, indices, _samples, size, rng) {
        const per = size * size * 3;
        const input = new Float32Array(images.length);
        const targets = indices.map((_, b) => {
          const k = rng.int(4);
          input.set(rotateQuarterTurns(images.subarray(b * per, (b + 1) * per), size, k), b * per);
          return k;
        });
        return { input, targets };
      },
    }),
});
