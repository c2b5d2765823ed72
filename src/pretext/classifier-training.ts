/**
 * The training loop shared by the pretext methods that classify (rotation,
 * supervised): the experiment's encoder, then global average pooling and one
 * linear layer to `classes` logits, softmax cross-entropy, Adam. Only the
 * encoder is saved: there is no generator to score on inpainting. Images
 * stream from disk through the loader the reconstruction methods use.
 */
import * as tf from '@tensorflow/tfjs';
import { join } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { Rng } from '../engine/random.js';
import { logLine } from '../engine/log.js';
import { ResumableLoop } from '../engine/resumable-loop.js';
import { BadSamples } from '../data/samples.js';
import type { SampleRef } from '../data/formats/types.js';
import { DEFAULT_ENCODER, ENCODERS } from '../models/encoders/index.js';
import { heNormal } from '../models/alexnet.js';
import { writeFileAtomic } from '../fs/atomic.js';
import type { ConfigFragment } from '../registry/registry.js';
import { pretextCropLoader, readablePretextImages, saveTrainedEncoder } from './common.js';
import type { PretextCommonConfig } from './config.js';
import type { PretextContext } from './registry.js';
import type { PretextJob, PretextOutcome } from './types.js';

export interface ClassifierConfig extends PretextCommonConfig {
  split: string;
  steps: number;
  batchSize: number;
  lr: number;
  loadScale: number;
  maxImages?: number;
}

export const CLASSIFIER_FIELDS: ConfigFragment = {
  properties: {
    split: { type: 'string', default: 'trainval', description: 'Split to train on.' },
    steps: { type: 'integer', minimum: 0, default: 1000 },
    batchSize: { type: 'integer', minimum: 1, default: 64 },
    lr: { type: 'number', exclusiveMinimum: 0, default: 0.001 },
    loadScale: { type: 'number', minimum: 1, maximum: 2, default: 1.15, description: 'Images load at inputSize*loadScale, then a random inputSize crop.' },
    maxImages: { type: 'integer', minimum: 1, description: 'Use at most this many training images.' },
  },
};

export interface ClassifierTask {
  /** Asked after the training split is listed (a folder dataset learns its classes from the listing). */
  classes(): number;
  /** Keeps only the samples the task can use (e.g. those with a label). */
  usable?(samples: SampleRef[]): SampleRef[];
  /**
   * Turns a batch of crops (NHWC, [-1, 1]) of samples `indices` into the
   * network's input and each item's target class; `rng` is the method's own
   * stream (e.g. which rotation).
   */
  batch(images: Float32Array, indices: number[], samples: SampleRef[], size: number, rng: Rng): { input: Float32Array; targets: number[] };
}

export async function trainClassifier(job: PretextJob<ClassifierConfig>, ctx: PretextContext, task: ClassifierTask): Promise<PretextOutcome> {
  const { config, model } = job;
  const rng = new Rng(job.seed);
  const size = model.inputSize;
  let samples = await ctx.dataset.list(config.split);
  if (task.usable) samples = task.usable(samples);
  if (config.maxImages !== undefined) samples = samples.slice(0, config.maxImages);
  const bad = new BadSamples(job.dataset.onBadSample);
  const kept = await readablePretextImages(samples, bad);
  const loadSize = Math.round(size * config.loadScale);
  const classes = task.classes();
  logLine(`pretext ${config.name}: ${kept.length} images streamed at ${loadSize}px -> ${size}px crops, ${classes} classes, ${config.steps} steps of ${config.batchSize}`);

  const encoderSpec = ENCODERS.get(model.encoder ?? DEFAULT_ENCODER);
  const seed = rng.intSeed('weights');
  const input = tf.input({ shape: [size, size, 3], name: 'image' });
  const pool5 = encoderSpec.build({ input, inputSize: size, seed, model });
  const channels = pool5.shape[3] as number;
  const pooled = tf.layers.globalAveragePooling2d({ name: 'classifier_pool' }).apply(pool5) as tf.SymbolicTensor;
  const logits = tf.layers
    .dense({ name: 'classifier_out', units: classes, kernelInitializer: heNormal(channels, rng.intSeed('classifier')) })
    .apply(pooled) as tf.SymbolicTensor;
  const net = tf.model({ inputs: input, outputs: logits });
  const encoder = tf.model({ inputs: input, outputs: pool5, name: 'alexnet_encoder' });
  const vars = net.trainableWeights.map((w) => w.read() as tf.Variable);
  const opt = tf.train.adam(config.lr);

  const loader = pretextCropLoader(kept, { loadSize, crop: size, batchSize: config.batchSize }, rng, bad);
  const taskRng = rng.fork('task');
  const { loop, saved } = await ResumableLoop.start({
    label: `pretext ${config.name}`,
    resume: job.resume,
    checkpointEvery: config.checkpointEvery,
    steps: config.steps,
    lr: config.lr,
    imagesPerStep: config.batchSize,
    parts: { models: { net }, optimizers: { net: opt } },
    streams: { sampler: loader.samplerStream, crops: loader.cropStream, task: taskRng },
  });
  const rows = (saved?.rows as (string | number)[][] | undefined) ?? [];
  let last = (saved?.last as number | undefined) ?? NaN;
  try {
    for (let step = loop.firstStep; step <= config.steps; step++) {
      const { indices, images } = await loader.next();
      const { input: x, targets } = task.batch(images, indices, kept, size, taskRng);
      const cost = tf.tidy(() => {
        const xt = tf.tensor4d(x, [indices.length, size, size, 3]);
        const yt = tf.oneHot(tf.tensor1d(targets, 'int32'), classes);
        return opt.minimize(() => tf.losses.softmaxCrossEntropy(yt, net.apply(xt, { training: true }) as tf.Tensor) as tf.Scalar, true, vars)!;
      });
      last = (await cost.data())[0];
      cost.dispose();
      if (step % config.logEvery === 0 || step === config.steps) rows.push([step, last, loop.seconds().toFixed(2)]);
      await loop.endStep(step, last, () => ({ last, rows }));
    }
  } finally {
    await loader.close();
  }
  const trainSeconds = loop.seconds();
  opt.dispose();
  await writeFileAtomic(join(job.outDir, 'log.csv'), stringify(rows, { header: true, columns: ['step', 'loss', 'elapsed_s'] }));
  await saveTrainedEncoder(job, encoder);
  net.dispose();
  return {
    summary: { train_seconds: trainSeconds, final_loss: last },
    imgPerSec: config.steps > 0 ? (config.steps * config.batchSize) / trainSeconds : 0,
    skippedSamples: bad.skipped,
  };
}
