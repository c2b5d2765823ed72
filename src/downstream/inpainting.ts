/**
 * Inpainting quality of a pretext generator on held-out images: mean L1,
 * mean L2 and PSNR over the hole (intensities in [0, 1], averaged per image;
 * the scorer in models/inpaint.ts, the pretext's held-out L2 uses the same),
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
import { makeMask, type Mask, type MaskKind } from '../data/masks.js';
import { meanInpaintingScores } from '../metrics/index.js';
import { maskProblem } from '../models/generators/index.js';
import { inpaintImages } from '../models/inpaint.js';
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
  check: (config, model) => [maskProblem(model, 'mask', config.mask)].filter((p): p is string => p !== null),
  run: inpaint,
});
