/**
 * `bench run <experiment> --dry-run`: what a run would cost, before spending
 * days on it. Every job of the plan with its estimated time on the chosen
 * backend, peak memory and disk, and the total; nothing is written (no
 * results folder, no lock, no synthetic dataset).
 *
 * Times come from a few timed training steps (and forward passes) of the
 * job's own networks at its input size, on random tensors: no dataset is
 * needed, so the estimate works where the data is missing (listed first).
 * Steps are timed at a batch of at most 8 and scaled linearly to
 * the job's batch, as throughput on the CPU backends is about linear in it;
 * memory is fitted as a fixed part plus a part per image (timeSteps).
 * Image counts come from the dataset's split lists when it is present; when
 * it is not, passes over its images are priced per 1,000 images instead.
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import { initBackend, type BackendChoice } from '../engine/backend.js';
import { logLine, formatDuration } from '../engine/log.js';
import { openDataset } from '../data/formats/index.js';
import { TRAINING_PREFETCH } from '../data/loader.js';
import { resolveSides, syntheticSplitSize } from '../data/synthetic.js';
import type { TransferConfig } from '../downstream/config.js';
import { PROTOCOLS } from '../downstream/index.js';
import { makeAdam, minimize } from '../pretext/adam.js';
import type { ReconstructionConfig } from '../pretext/reconstruction-config.js';
import { DEFAULT_ENCODER, ENCODERS, type EncoderSpec } from '../models/encoders/index.js';
import { generatorOf } from '../models/generators/index.js';
import { loadExperiment } from './load.js';
import { makePlan, type PlannedDownstream, type PlannedJob, type PlannedPretext } from './plan.js';
import type { DatasetConfig, Experiment, ModelConfig } from './types.js';

/** How much to time; tests time less. */
export interface DryRunOptions {
  /** Largest batch timed; bigger batches are scaled from it (default 8). */
  timedBatch?: number;
  /** Timed steps after one warm-up (default 2). */
  timedSteps?: number;
}
/** Frozen classification computes features of 4 training views per image (see classification.ts). */
const FROZEN_TRAIN_VIEWS = 4;
/** Adam keeps two moments per weight; a training checkpoint holds weights and both. */
const CHECKPOINT_COPIES = 3;
/** Loader batches in flight: those decoding ahead, and the one training. */
const BATCHES_IN_MEMORY = TRAINING_PREFETCH + 1;

interface Measured {
  /** Seconds per image at the timed batch. */
  secondsPerImage: number;
  /** Bytes the process grows by per image of a batch. */
  bytesPerImage: number;
  /** Bytes a step takes whatever its batch (gradients, optimiser state, the weights' temporaries). */
  fixedBytes: number;
  parameters: number;
  /** Output values per image (the feature size, for a forward pass). */
  outputsPerImage: number;
  /** Channels of the output (the encoder's last feature map). */
  channels: number;
}

export interface JobEstimate {
  id: string;
  seconds: number;
  /** Seconds per 1,000 images of passes over a missing dataset, not in `seconds`. */
  secondsPer1000Unknown: number;
  peakBytes: number;
  diskBytes: number;
  note: string;
}

export interface DryRunReport {
  missing: string[];
  jobs: JobEstimate[];
  totalSeconds: number;
  peakBytes: number;
  diskBytes: number;
}

function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${Math.round(value)} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/**
 * Times `step(batch)` after one untimed warm-up. Memory is an affine fit: the
 * process's growth over a step at batch 1, then its further growth at
 * `batch` (the heap keeps what the first run took, so only what more images
 * need shows), gives the bytes per image; what the batch-1 run took beyond
 * one image is the fixed part (gradients, optimiser moments, weight-sized
 * temporaries), which a per-image scaling would multiply by the batch.
 */
async function timeSteps(batch: number, steps: number, parameters: number, step: (x: tf.Tensor4D) => tf.Tensor, size: number): Promise<Measured> {
  let outputsPerImage = 0;
  let channels = 0;
  const run = async (x: tf.Tensor4D) => {
    const out = step(x);
    outputsPerImage = out.size / x.shape[0];
    channels = out.shape[out.shape.length - 1];
    await out.data();
    out.dispose();
  };
  const rss = () => process.memoryUsage().rss;
  const before = rss();
  const one = tf.randomUniform([1, size, size, 3], -1, 1) as tf.Tensor4D;
  await run(one);
  one.dispose();
  const afterOne = rss();
  const x = tf.randomUniform([batch, size, size, 3], -1, 1) as tf.Tensor4D;
  await run(x);
  const started = performance.now();
  for (let i = 0; i < steps; i++) await run(x);
  const seconds = (performance.now() - started) / 1000 / steps;
  x.dispose();
  const firstImage = Math.max(0, afterOne - before);
  const bytesPerImage = batch > 1 ? Math.max(0, rss() - afterOne) / (batch - 1) : firstImage;
  return { secondsPerImage: seconds / batch, bytesPerImage, fixedBytes: Math.max(0, firstImage - bytesPerImage), parameters, outputsPerImage, channels };
}

/** Measurements by model, timing options, network, input size and kind: each is taken once per process. */
const measured = new Map<string, Measured>();

class Timer {
  private readonly timedBatch: number;
  private readonly timedSteps: number;

  constructor(
    private readonly model: ModelConfig,
    opts: DryRunOptions,
  ) {
    this.timedBatch = opts.timedBatch ?? 8;
    this.timedSteps = opts.timedSteps ?? 2;
  }

  private encoderSpec(): EncoderSpec {
    return ENCODERS.get(this.model.encoder ?? DEFAULT_ENCODER);
  }

  private async once(kind: string, measure: () => Promise<Measured>): Promise<Measured> {
    const key = JSON.stringify([tf.getBackend(), this.model, this.timedBatch, this.timedSteps, kind]);
    const hit = measured.get(key);
    if (hit) return hit;
    const m = await measure();
    measured.set(key, m);
    return m;
  }

  /** One reconstruction training step of the model's generator (Adam over every weight). */
  pretextStep(batch: number): Promise<Measured> {
    const b = Math.min(batch, this.timedBatch);
    return this.once(`pretext/${b}`, async () => {
      const spec = generatorOf(this.model);
      const { generator } = spec.build({ model: this.model, seed: 1 });
      // The optimizer the pretext loop gives this generator: its memory is part of what is measured.
      const optimizer = makeAdam(spec.leanAdam, 1e-4, 0.9);
      const vars = generator.trainableWeights.map((w) => w.read() as tf.Variable);
      const m = await timeSteps(b, this.timedSteps, generator.countParams(), (x) => minimize(optimizer, () => tf.mean(tf.square(tf.sub(generator.apply(x) as tf.Tensor, x))) as tf.Scalar, vars), this.model.inputSize);
      optimizer.dispose();
      generator.dispose();
      return m;
    });
  }

  /** The encoder at `size`: a forward pass, or a training step through it (fine-tuning). */
  encoder(size: number, batch: number, train: boolean): Promise<Measured> {
    const b = Math.min(batch, this.timedBatch);
    return this.once(`encoder/${size}/${b}/${train}`, async () => {
      const input = tf.input({ shape: [size, size, 3] });
      const encoder = tf.model({ inputs: input, outputs: this.encoderSpec().build({ input, inputSize: size, seed: 1, model: this.model }) });
      const optimizer = tf.train.adam(1e-4);
      const vars = encoder.trainableWeights.map((w) => w.read() as tf.Variable);
      const m = await timeSteps(
        b,
        this.timedSteps,
        encoder.countParams(),
        (x) => (train ? (optimizer.minimize(() => tf.mean(encoder.apply(x) as tf.Tensor) as tf.Scalar, true, vars) as tf.Scalar) : (encoder.predict(x) as tf.Tensor)),
        size,
      );
      optimizer.dispose();
      encoder.dispose();
      return m;
    });
  }
}

/** Images of a split (of the synthetic dataset the run would write, when it is missing), or null when unknown. */
async function countImages(ds: DatasetConfig, split: string, segmentation: boolean, max?: number): Promise<number | null> {
  let n: number | null;
  if (existsSync(ds.root)) {
    n = (await (await openDataset(ds)).list(split, segmentation ? { with: 'labelMaps' } : undefined)).length;
  } else {
    n = ds.synthesize ? syntheticSplitSize(ds.synthesize.images, split, segmentation ? 'Segmentation' : 'Main') : null;
  }
  return n === null || max === undefined ? n : Math.min(n, max);
}

/** Adds `perImage` x `count` to a job's seconds, or per 1,000 images to its unknown part when the count is unknown. */
function passes(est: JobEstimate, perImage: number, count: number | null, views = 1): void {
  if (count === null) est.secondsPer1000Unknown += perImage * 1000 * views;
  else est.seconds += perImage * count * views;
}

async function estimatePretext(job: PlannedPretext, timer: Timer): Promise<JobEstimate> {
  const est: JobEstimate = { id: job.id, seconds: 0, secondsPer1000Unknown: 0, peakBytes: 0, diskBytes: 0, note: '' };
  const config = job.config as unknown as ReconstructionConfig;
  const step = await timer.pretextStep(config.batchSize);
  const loadSize = Math.round(job.model.inputSize * config.loadScale);
  const loaderBytes = BATCHES_IN_MEMORY * config.batchSize * loadSize * loadSize * 3 * 4;
  // Weights saved twice (encoder and generator share the encoder's), once for a generator without an encoder.
  est.diskBytes = step.parameters * 4 * (generatorOf(job.model).encoder ? 2 : 1);
  if (config.method === 'random') {
    est.note = 'no training';
  } else {
    est.seconds = step.secondsPerImage * config.batchSize * config.steps;
    est.peakBytes = step.fixedBytes + step.bytesPerImage * config.batchSize + loaderBytes + step.parameters * 4 * (1 + CHECKPOINT_COPIES);
    est.diskBytes += step.parameters * 4 * CHECKPOINT_COPIES;
    est.note = `${config.steps} steps of ${config.batchSize}`;
    if (config.adversarial && config.lambdaRec < 1) est.note += ' (+ discriminator steps, not timed)';
  }
  // Only the reconstruction methods score held-out images (rotation and supervised have no heldoutSplit).
  if (config.heldoutSplit !== undefined) {
    const heldout = await countImages(job.dataset, config.heldoutSplit, false, config.heldoutImages);
    passes(est, step.secondsPerImage / 3, heldout);
  }
  return est;
}

async function estimateDownstream(job: PlannedDownstream, model: ModelConfig, timer: Timer): Promise<JobEstimate> {
  const est: JobEstimate = { id: job.id, seconds: 0, secondsPer1000Unknown: 0, peakBytes: 0, diskBytes: 0, note: '' };
  // The transfer fields every task but inpainting has, and the two task-specific ones read here.
  const config = job.config as unknown as TransferConfig & { testCrops?: number };
  const size = config.inputSize ?? model.inputSize;
  const segmentation = job.task === 'segmentation';
  const finetune = job.protocol !== null && job.layer !== null && PROTOCOLS.get(job.protocol).trainedLayers(config, job.layer).length > 0;
  if (job.task === 'inpainting') {
    const pretext = await timer.pretextStep(1);
    passes(est, pretext.secondsPerImage / 3, await countImages(job.dataset, config.testSplit, false, config.maxTestImages));
    est.note = 'generator forward passes';
    return est;
  }
  const train = await countImages(job.dataset, config.trainSplit, segmentation, config.maxTrainImages);
  const test = await countImages(job.dataset, config.testSplit, segmentation, config.maxTestImages);
  const forward = await timer.encoder(size, 32, false);
  const imagesPerStep = job.task === 'detection' ? Math.min(2, config.batchSize) : config.batchSize;
  if (finetune) {
    const step = await timer.encoder(size, imagesPerStep, true);
    est.seconds += step.secondsPerImage * imagesPerStep * config.steps;
    est.peakBytes = step.fixedBytes + step.bytesPerImage * imagesPerStep + step.parameters * 4 * (1 + CHECKPOINT_COPIES);
    est.diskBytes = step.parameters * 4 * CHECKPOINT_COPIES;
    est.note = `${config.steps} fine-tuning steps of ${imagesPerStep}`;
  } else {
    // Frozen: features computed once (classification: 4 views; segmentation and detection: image and mirror).
    const views = job.task === 'classification' ? FROZEN_TRAIN_VIEWS : 2;
    passes(est, forward.secondsPerImage, train, views);
    // The features of every training view go to a feature store in the job folder, a chunk of images at a time.
    est.peakBytes = forward.fixedBytes + forward.bytesPerImage * 32;
    est.diskBytes += (train ?? 0) * views * forward.outputsPerImage * 4;
    const planNote = job.protocol !== null ? PROTOCOLS.get(job.protocol).planNote : undefined;
    est.note = planNote ? planNote(config) : `${config.steps} head steps on cached features (head not timed)`;
  }
  // The freshly initialised head, trained and checkpointed in both protocols.
  // Its input: pool5 flattened (classification), 6x6 RoI cells of conv5 (detection), one conv5 cell (segmentation's 1x1 convs).
  const channels = forward.channels;
  const fanIn = job.task === 'segmentation' ? channels : job.task === 'detection' ? 36 * channels : forward.outputsPerImage;
  const widths = job.task === 'segmentation' ? config.headWidths.slice(0, 1) : config.headWidths;
  const layers = [fanIn, ...widths, 21];
  const headParameters = layers.slice(1).reduce((sum, w, i) => sum + layers[i] * w, 0);
  est.peakBytes += headParameters * 4 * CHECKPOINT_COPIES;
  est.diskBytes += headParameters * 4 * CHECKPOINT_COPIES;
  const testViews = job.task === 'classification' ? (config.testCrops ?? 1) : 1;
  passes(est, forward.secondsPerImage, test, testViews);
  return est;
}

/** Bytes a synthetic dataset takes: JPEGs at about 0.1 of raw RGB, label PNGs for 60% of images. */
function syntheticBytes(ds: DatasetConfig): number {
  const synth = ds.synthesize;
  if (!synth) return 0;
  const { minSide, maxSide } = resolveSides(synth);
  const pixels = maxSide * ((minSide + maxSide) / 2);
  return synth.images * pixels * (3 * 0.1 + 0.6 * 2 * 0.05);
}

export async function dryRun(exp: Experiment, backendChoice: BackendChoice, opts: DryRunOptions = {}): Promise<DryRunReport> {
  const backend = await initBackend(backendChoice);
  const missing: string[] = [];
  let datasetDisk = 0;
  for (const [key, ds] of Object.entries(exp.datasets)) {
    if (existsSync(ds.root)) continue;
    if (ds.synthesize) {
      datasetDisk += syntheticBytes(ds);
      missing.push(`dataset ${key}: ${ds.root} is missing; the run would first write a synthetic VOC-layout dataset there (${ds.synthesize.images} images, about ${formatBytes(syntheticBytes(ds))})`);
    } else {
      missing.push(`dataset ${key}: ${ds.root} is missing (format ${ds.format}); estimating from random images of the same size, and passes over its images per 1,000 images`);
    }
  }
  const baseRss = process.memoryUsage().rss;
  const plan: PlannedJob[] = makePlan(exp, backend.name);
  const timer = new Timer(exp.model, opts);
  const jobs: JobEstimate[] = [];
  for (const job of plan) {
    const est = job.stage === 'pretext' ? await estimatePretext(job, timer) : await estimateDownstream(job, exp.model, timer);
    est.peakBytes += baseRss;
    jobs.push(est);
  }
  return {
    missing,
    jobs,
    totalSeconds: jobs.reduce((s, j) => s + j.seconds, 0),
    peakBytes: Math.max(0, ...jobs.map((j) => j.peakBytes)),
    diskBytes: datasetDisk + jobs.reduce((s, j) => s + j.diskBytes, 0),
  };
}

export function formatDryRun(exp: Experiment, backendName: string, report: DryRunReport): string[] {
  const lines = [`experiment ${exp.name} (dry run on ${backendName}; nothing written): ${report.jobs.length} jobs`];
  lines.push(...report.missing);
  for (const j of report.jobs) {
    const unknown = j.secondsPer1000Unknown > 0 ? ` + ${formatDuration(j.secondsPer1000Unknown)} per 1,000 images of missing data` : '';
    lines.push(`  ${j.id}: ${formatDuration(j.seconds)}${unknown}, peak memory ${formatBytes(j.peakBytes)}, disk ${formatBytes(j.diskBytes)} (${j.note})`);
  }
  const anyUnknown = report.jobs.some((j) => j.secondsPer1000Unknown > 0) ? ' (plus the per-1,000-image passes above)' : '';
  lines.push(`total: ${formatDuration(report.totalSeconds)}${anyUnknown}, peak memory ${formatBytes(report.peakBytes)} (largest job), disk ${formatBytes(report.diskBytes)}`);
  return lines;
}

export async function dryRunCommand(file: string, backend: BackendChoice): Promise<void> {
  const exp = await loadExperiment(file);
  const report = await dryRun(exp, backend);
  const name = tf.getBackend();
  for (const line of formatDryRun(exp, name, report)) logLine(line);
}
