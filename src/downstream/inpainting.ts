/**
 * Inpainting quality of a pretext generator on held-out images: mean L1,
 * mean L2 and PSNR over the hole (intensities in [0, 1], averaged per image),
 * beside a mean-colour fill baseline on the same holes; a few samples
 * (masked input, prediction, ground truth) saved as PNG for the report.
 */
import * as tf from '@tensorflow/tfjs';
import { join } from 'node:path';
import { Rng } from '../engine/random.js';
import { loadModel } from '../engine/checkpoint.js';
// Saved generators (and other encoders) name our custom layer classes; this registers them before loading.
import '../models/custom-layers.js';
import { UserError } from '../errors.js';
import { logLine } from '../engine/log.js';
import { loadImageBank } from '../data/batches.js';
import { readImageFolder } from '../data/folder.js';
import { BadSamples } from '../data/samples.js';
import { savePng } from '../data/image.js';
import { applyMask, makeMask, type Mask, type MaskKind } from '../data/masks.js';
import { inpaintingScores, meanInpaintingScores, type InpaintingScores } from '../metrics/index.js';
import type { DownstreamCommonConfig } from './config.js';
import { registerTask, type DownstreamContext } from './registry.js';
import type { DownstreamJob } from './types.js';

export interface InpaintingConfig extends DownstreamCommonConfig {
  testSplit: string;
  maxTestImages?: number;
  images?: string;
  mask: MaskKind;
  samples: number;
}

/** [-1, 1] -> [0, 1], clamped against rounding at the ends. */
export function toUnit(values: Float32Array): Float32Array {
  return values.map((v) => Math.min(1, Math.max(0, (v + 1) / 2)));
}

/** The original with the generator's prediction pasted into the hole. */
export function pasteHole(original: Float32Array, prediction: Float32Array, mask: Mask): Float32Array {
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

export function maskFor(kind: MaskKind, size: number, rng: Rng): Mask {
  return makeMask(size, rng, { kind });
}

/** Loads a saved generator, refusing a checkpoint of another network (e.g. an encoder, which maps images to features). */
export async function loadGenerator(dir: string): Promise<tf.LayersModel> {
  const model = await loadModel(dir);
  const [input, output] = [model.inputs[0].shape, model.outputs[0].shape];
  if (input.length !== 4 || input[3] !== 3 || output.length !== 4 || input.slice(1).join() !== output.slice(1).join()) {
    model.dispose();
    throw new UserError(
      `${dir}: not an inpainting generator (it maps [${input.slice(1)}] to [${output.slice(1)}], a generator maps an image to an image of the same size); pass a pretext job folder or its generator/ folder`,
    );
  }
  return model;
}

async function inpaint(job: DownstreamJob<InpaintingConfig>, ctx: DownstreamContext) {
  const { config } = job;
  const generator = await loadGenerator(job.generatorDir);
  const size = generator.inputs[0].shape[1] as number;
  const images = config.images ? (await readImageFolder(config.images)).images.map((im) => im.path) : await ctx.dataset.list(config.testSplit);
  const chosen = config.maxTestImages === undefined ? images : images.slice(0, config.maxTestImages);
  const bad = new BadSamples(job.dataset.onBadSample);
  const bank = await loadImageBank(chosen, size, 'cover', bad);
  // Masks depend on the seed alone, so every method of a seed fills the same holes.
  const rng = new Rng(job.seed).fork('inpainting-masks');
  const masks = bank.images.map(() => maskFor(config.mask, size, rng));
  logLine(`inpainting on ${job.method}: ${bank.images.length} held-out images at ${size}px, ${config.mask} holes`);
  const started = performance.now();
  const results = await inpaintImages(generator, bank.images, masks);
  const seconds = (performance.now() - started) / 1000;
  generator.dispose();

  const samples: string[] = [];
  for (let i = 0; i < Math.min(config.samples, results.length); i++) {
    const name = `sample-${String(i + 1).padStart(3, '0')}`;
    const images: [string, Float32Array][] = [
      ['input', results[i].masked],
      ['pred', results[i].filled],
      ['truth', bank.images[i]],
    ];
    for (const [role, data] of images) {
      const file = join('samples', `${name}-${role}.png`);
      await savePng({ data, height: size, width: size, channels: 3 }, join(job.outDir, file));
      samples.push(file);
    }
  }
  const ours = meanInpaintingScores(results.map((r) => r.scores));
  const baseline = meanInpaintingScores(results.map((r) => r.baseline));
  return {
    summary: { l1: ours.l1, l2: ours.l2, psnr: ours.psnr, baseline_l1: baseline.l1, baseline_l2: baseline.l2, baseline_psnr: baseline.psnr },
    samples,
    imgPerSec: bank.images.length / seconds,
    skippedSamples: bad.skipped,
  };
}

const MASK_KINDS: MaskKind[] = ['center', 'random-block', 'random-region'];

registerTask<InpaintingConfig>({
  name: 'inpainting',
  description: "the pretext generator fills held-out holes: L1, L2 and PSNR over the hole, beside a mean-colour fill",
  config: {
    properties: {
      testSplit: { type: 'string', default: 'test' },
      maxTestImages: { type: 'integer', minimum: 1 },
      images: { type: 'string', description: "A folder of held-out images instead of the dataset's test split." },
      mask: { enum: MASK_KINDS, default: 'center' },
      samples: { type: 'integer', minimum: 0, default: 4 },
    },
    paths: ['images'],
  },
  needs: { generator: true },
  usesProtocols: false,
  layer: null,
  run: inpaint,
});
