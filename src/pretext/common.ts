/** Pieces every pretext method shares: the networks, the held-out score, the saved outputs. */
import * as tf from '@tensorflow/tfjs';
import { join } from 'node:path';
import { Rng } from '../engine/random.js';
import { saveModel } from '../engine/checkpoint.js';
import { EpochSampler, loadImageBank } from '../data/batches.js';
import type { ImageRef } from '../data/image.js';
import { readableSources, StreamingCropLoader, TRAINING_PREFETCH } from '../data/loader.js';
import type { BadSamples } from '../data/samples.js';
import { UserError } from '../errors.js';
import { makeMask } from '../data/masks.js';
import { meanInpaintingScores } from '../metrics/index.js';
import { plainEncoder } from '../models/encoders/index.js';
import { generatorOf, type GeneratorNetworks } from '../models/generators/index.js';
import { inpaintImages } from '../models/inpaint.js';
import type { PretextCommonConfig } from './config.js';
import type { ReconstructionConfig } from './reconstruction-config.js';
import type { PretextContext } from './registry.js';
import type { PretextJob } from './types.js';

export type PretextModels = GeneratorNetworks;

/** The model's generator (the same for every method, so only training differs between them), with its encoder when it has one. */
export function buildPretextModels(job: PretextJob<PretextCommonConfig>): PretextModels {
  const { model } = job;
  const seed = new Rng(job.seed).intSeed('weights');
  // Only the reconstruction methods' entries have the field; the random baseline never trains, so it is absent there.
  return generatorOf(model).build({ model, seed, dropout: (job.config as Partial<ReconstructionConfig>).dropout });
}

/** The images of a pretext split that read; one line naming the problem when none is left. */
export async function readablePretextImages<T extends ImageRef & { source?: string }>(samples: readonly T[], bad: BadSamples): Promise<T[]> {
  if (samples.length === 0) throw new UserError('no images to load: the dataset split is empty');
  const sources = await readableSources(samples, bad);
  if (sources.length === 0) throw new UserError(`no readable image among the ${samples.length} listed (${samples[0].source}, ...): every one was skipped as bad`);
  return sources;
}

/**
 * Random `crop` crops of `sources` loaded at `loadSize`, streamed from disk,
 * with the data order and crops drawn from `rng`'s 'order' and 'crops'
 * streams: every pretext method draws its images the same way.
 */
export function pretextCropLoader(sources: readonly ImageRef[], opts: { loadSize: number; crop: number; batchSize: number }, rng: Rng, bad: BadSamples): StreamingCropLoader {
  return new StreamingCropLoader(sources, { ...opts, prefetch: TRAINING_PREFETCH }, new EpochSampler(sources.length, rng.fork('order')), rng.fork('crops'), bad);
}

export const ENCODER_DIR = 'checkpoint';
export const GENERATOR_DIR = 'generator';

/** The generator, and the encoder when the generator has one (transfer tasks are refused at load otherwise). */
export async function saveEncoderAndGenerator(job: PretextJob<PretextCommonConfig>, models: PretextModels): Promise<void> {
  if (models.encoder) await saveTrainedEncoder(job, models.encoder);
  await saveModel(models.generator, join(job.outDir, GENERATOR_DIR));
}

/** Saves the encoder as transfer loads it (training-only layers such as BatchNorm folded away). */
export async function saveTrainedEncoder(job: PretextJob<PretextCommonConfig>, encoder: tf.LayersModel): Promise<void> {
  const plain = plainEncoder(encoder, job.model);
  await saveModel(plain, join(job.outDir, ENCODER_DIR));
  if (plain !== encoder) plain.dispose();
}

/**
 * Mean squared error over the hole on held-out images, intensities in
 * [0, 1], averaged per image: the inpainting scorer (models/inpaint.ts) on
 * the pretext entry's evalMask holes. The masks come from the experiment seed
 * alone, so every method of a seed is scored on the same holes.
 */
export async function evaluateHeldout(job: PretextJob<ReconstructionConfig>, ctx: PretextContext, generator: tf.LayersModel, bad: BadSamples): Promise<number> {
  const { config, model } = job;
  const size = model.inputSize;
  const samples = (await ctx.dataset.list(config.heldoutSplit)).slice(0, config.heldoutImages);
  const bank = await loadImageBank(samples, size, 'cover', bad);
  const maskRng = new Rng(job.seed).fork('heldout-masks');
  const masks = bank.images.map(() => makeMask(size, maskRng, { kind: config.evalMask, holeFraction: config.holeFraction, overlapPx: config.overlapPx }));
  const filled = await inpaintImages(generator, bank.images, masks);
  return meanInpaintingScores(filled.map((f) => f.scores)).l2;
}
