/**
 * The training loop shared by the context encoder and the autoencoder: both
 * reconstruct pixels with the model's generator, and differ only in what
 * is hidden from the input (a mask, or nothing) and where the loss looks.
 */
import * as tf from '@tensorflow/tfjs';
import { join } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { Rng } from '../engine/random.js';
import { logLine } from '../engine/log.js';
import { ResumableLoop } from '../engine/resumable-loop.js';
import type { TrainingParts } from '../engine/train-state.js';
import { applyMask, type Mask } from '../data/masks.js';
import { BadSamples } from '../data/samples.js';
import { freshDropoutLayers } from '../models/fresh-dropout.js';
import { generatorOf } from '../models/generators/index.js';
import { writeFileAtomic } from '../fs/atomic.js';
import { makeAdam } from './adam.js';
import { buildPretextModels, evaluateHeldout, pretextCropLoader, readablePretextImages, saveEncoderAndGenerator, type PretextModels } from './common.js';
import type { ReconstructionConfig } from './reconstruction-config.js';
import { reconstructionStep, type ReconstructionNets, type StepLosses } from './reconstruction-step.js';
import type { PretextContext } from './registry.js';
import type { PretextJob, PretextOutcome } from './types.js';

export interface ReconstructionSetup {
  /** Prepares what masks need (e.g. shapes from the dataset) and returns the per-image mask maker. */
  makeMaskFactory(job: PretextJob<ReconstructionConfig>, rng: Rng, bad: BadSamples): Promise<(rng: Rng) => Mask>;
}

/** Input, target and loss-weight tensors for one batch. */
function batchTensors(images: Float32Array, size: number, masks: Mask[]): { input: tf.Tensor4D; target: tf.Tensor4D; weight: tf.Tensor4D } {
  const n = masks.length;
  const per = size * size * 3;
  const input = new Float32Array(images.length);
  const weight = new Float32Array(n * size * size);
  masks.forEach((m, b) => {
    input.set(applyMask(images.subarray(b * per, (b + 1) * per), m), b * per);
    weight.set(m.weight, b * size * size);
  });
  return {
    input: tf.tensor4d(input, [n, size, size, 3]),
    target: tf.tensor4d(images, [n, size, size, 3]),
    weight: tf.tensor4d(weight, [n, size, size, 1]),
  };
}

/** The loop's own fields of a training checkpoint, besides its random streams (sampler, crops, masks). */
interface LoopFields {
  [field: string]: unknown;
  last: StepLosses;
  rows: (string | number)[][];
}

/** Trains the generator on masked reconstruction (optionally joint with an adversarial loss) and saves the outputs. */
export async function trainReconstruction(job: PretextJob<ReconstructionConfig>, ctx: PretextContext, setup: ReconstructionSetup): Promise<PretextOutcome> {
  const { config, model } = job;
  const rng = new Rng(job.seed);
  const size = model.inputSize;
  const loadSize = Math.round(size * config.loadScale);

  let samples = await ctx.dataset.list(config.split);
  if (config.maxImages !== undefined) samples = samples.slice(0, config.maxImages);
  const bad = new BadSamples(job.dataset.onBadSample);
  const sources = await readablePretextImages(samples, bad);
  const maskFor = await setup.makeMaskFactory(job, rng.fork('mask-setup'), bad);
  logLine(`pretext ${config.name}: ${sources.length} images streamed at ${loadSize}px -> ${size}px crops, ${config.steps} steps of ${config.batchSize}`);

  const models: PretextModels = buildPretextModels(job);
  const gVars = models.generator.trainableWeights.map((w) => w.read() as tf.Variable);
  const adversarial = config.adversarial && config.lambdaRec < 1;
  // The reference code gives the generator 10x the discriminator's rate when the loss is joint.
  const spec = generatorOf(model);
  const optG = makeAdam(spec.leanAdam, adversarial ? config.lr * 10 : config.lr, config.beta1);
  const critic = adversarial ? spec.critic({ inputSize: size, seed: rng.intSeed('discriminator') }) : null;
  const disc = critic?.model ?? null;
  const dVars = disc ? disc.trainableWeights.map((w) => w.read() as tf.Variable) : [];
  const optD = disc ? makeAdam(spec.leanAdam, config.lr, config.beta1) : null;
  const nets: ReconstructionNets = {
    generator: models.generator,
    gVars,
    optG,
    adversary: critic && optD ? { model: critic.model, patch: critic.patch, vars: dVars, opt: optD, lambdaRec: config.lambdaRec } : null,
  };

  const loader = pretextCropLoader(sources, { loadSize, crop: size, batchSize: config.batchSize }, rng, bad);
  const maskRng = rng.fork('masks');
  const parts: TrainingParts = {
    models: disc ? { generator: models.generator, discriminator: disc } : { generator: models.generator },
    optimizers: optD ? { generator: optG, discriminator: optD } : { generator: optG },
  };
  const { loop, saved } = await ResumableLoop.start({
    label: `pretext ${config.name}`,
    resume: job.resume,
    checkpointEvery: config.checkpointEvery,
    steps: config.steps,
    lr: config.lr,
    parts,
    // The dropout mask stream exactly when the config has dropout, which the job key includes.
    streams: { sampler: loader.samplerStream, crops: loader.cropStream, masks: maskRng, ...Object.fromEntries(freshDropoutLayers(models.generator).map((l) => [l.name, l.stream])) },
    imagesPerStep: config.batchSize,
    logEvery: config.logEvery * 10,
  });
  const rows = (saved?.rows as LoopFields['rows'] | undefined) ?? [];
  let last = (saved?.last as LoopFields['last'] | undefined) ?? { loss: NaN, rec: NaN, adv: null, d: null };
  try {
    for (let step = loop.firstStep; step <= config.steps; step++) {
      const { indices, images } = await loader.next();
      const masks = indices.map(() => maskFor(maskRng));
      const { input, target, weight } = batchTensors(images, size, masks);

      last = reconstructionStep(nets, input, target, weight);
      input.dispose();
      target.dispose();
      weight.dispose();

      const imgPerSec = ((step - loop.firstStep + 1) * config.batchSize) / loop.sessionSeconds();
      if (step % config.logEvery === 0 || step === config.steps) {
        rows.push([step, last.loss, last.rec, last.adv ?? '', last.d ?? '', imgPerSec.toFixed(2), loop.seconds().toFixed(2)]);
      }
      await loop.endStep(step, last.loss, (): LoopFields => ({ last, rows }));
    }
  } finally {
    await loader.close();
  }
  const trainSeconds = loop.seconds();
  optG.dispose();
  optD?.dispose();
  disc?.dispose();

  await writeFileAtomic(
    join(job.outDir, 'log.csv'),
    stringify(rows, { header: true, columns: ['step', 'loss', 'loss_rec', 'loss_adv', 'loss_d', 'img_per_s', 'elapsed_s'] }),
  );
  const heldout = await evaluateHeldout(job, ctx, models.generator, bad);
  await saveEncoderAndGenerator(job, models);
  models.generator.dispose();
  return {
    summary: { train_seconds: trainSeconds, final_loss: last.loss, heldout_masked_l2: heldout },
    imgPerSec: config.steps > 0 ? (config.steps * config.batchSize) / trainSeconds : 0,
    skippedSamples: bad.skipped,
  };
}
