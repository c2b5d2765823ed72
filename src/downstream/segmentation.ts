/**
 * Segmentation transfer, FCN style: a 1x1-conv classifier over encoder
 * features, bilinear upsampling to the input size, per-pixel softmax
 * cross-entropy ignoring label 255. Every image, in training and at test, is
 * the whole image letterboxed into the encoder's square (aspect kept, padding
 * void), its label map through the same box; at test the logits of the
 * image's part of the square are resized back to its own pixels and scored
 * into one 21x21 confusion matrix: per-class IoU and mean IU.
 */
import * as tf from '@tensorflow/tfjs';
import { join } from 'node:path';
import { Rng } from '../engine/random.js';
import { logLine } from '../engine/log.js';
import { UserError } from '../errors.js';
import { EpochSampler, mapLimit } from '../data/batches.js';
import { letterbox, letterboxLabels, mirrorSquare, type Letterbox } from '../data/geometry.js';
import { loadImageLetterboxed } from '../data/image.js';
import { prefetchEach, readAgain, readableIndices, StreamingBatchLoader, TRAINING_PREFETCH } from '../data/loader.js';
import { BadSamples } from '../data/samples.js';
import type { SampleRef } from '../data/formats/types.js';
import { confusionMatrix, meanIoU, pixelAccuracy } from '../metrics/index.js';
import { heNormal } from '../models/alexnet.js';
import { checkOptimizerFields, TRANSFER_FIELDS, type TransferConfig } from './config.js';
import { predictInBatches, ScalerFit, variablesOf, type FeatureScaler } from './features.js';
import { FEATURE_STORE_FILE, FeatureStore } from './feature-store.js';
import { registerTask, type DownstreamContext } from './registry.js';
import { calibrateEncoder, loadTransferEncoder, startTransferLoop, type TransferEncoder } from './transfer.js';
import { TransferOptimizer } from './transfer-optimizer.js';
import { pixelSoftmaxCrossEntropy } from './pixel-softmax-loss.js';
import type { DownstreamJob } from './types.js';

const IGNORE = 255;

/** 1x1 conv (fc6-like) -> 1x1 conv to class scores, over a feature map. */
function buildSegHead(featureShape: number[], width: number, numClasses: number, seed: number): tf.LayersModel {
  const rng = new Rng(seed);
  const input = tf.input({ shape: featureShape });
  const hidden = tf.layers
    .conv2d({ name: 'seg_fc', filters: width, kernelSize: 1, activation: 'relu', kernelInitializer: heNormal(featureShape[2], rng.intSeed('seg_fc')) })
    .apply(input) as tf.SymbolicTensor;
  const scores = tf.layers
    .conv2d({ name: 'seg_score', filters: numClasses, kernelSize: 1, kernelInitializer: tf.initializers.randomNormal({ mean: 0, stddev: 0.01, seed: rng.intSeed('seg_score') }) })
    .apply(hidden) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: scores });
}

/** Per-pixel softmax cross-entropy over logits upsampled to the input, ignoring label 255. */
function segLoss(logits: tf.Tensor4D, labels: Uint8Array, size: number, numClasses: number): tf.Scalar {
  const n = logits.shape[0];
  const up = tf.image.resizeBilinear(logits, [size, size], true);
  return pixelSoftmaxCrossEntropy(tf.reshape(up, [n * size * size, numClasses]), labels, IGNORE);
}

/**
 * Logits over the square input -> logits over the original image's pixels:
 * upsampled to the square as in training, the image's part cut out, resized
 * to its own size (pixel centres aligned).
 */
export function unletterboxLogits(logits: tf.Tensor4D, box: Letterbox): tf.Tensor4D {
  return tf.tidy(() => {
    const square = tf.image.resizeBilinear(logits, [box.size, box.size], true);
    const content = tf.slice(square, [0, box.top, box.left, 0], [-1, box.contentHeight, box.contentWidth, -1]);
    return tf.image.resizeBilinear(content, [box.height, box.width], false, true);
  });
}

/** A sample's label map; the format promised them (checked at load), so a sample without one is a bug. */
function labelMapOf(sample: SampleRef): Promise<{ data: Uint8Array; width: number; height: number }> {
  if (!sample.labelMap) throw new Error(`${sample.source}: the dataset format lists it with label maps but gives none`);
  return sample.labelMap();
}

/**
 * The training set as the sampler indexes it: item i < n is readable sample
 * i letterboxed, item n + i its mirror image (mirrored copies double the
 * set; labels mirror with them). Items are read from disk when a batch or
 * pass needs them, never all held.
 */
class SegItems {
  constructor(
    private readonly samples: readonly SampleRef[],
    private readonly size: number,
    private readonly bad: BadSamples,
  ) {}

  get count(): number {
    return 2 * this.samples.length;
  }

  private sampleOf(item: number): SampleRef {
    return this.samples[item % this.samples.length];
  }

  private mirrored(item: number): boolean {
    return item >= this.samples.length;
  }

  /** Item `item`'s HWC pixels in [-1, 1]. */
  async image(item: number): Promise<Float32Array> {
    const sample = this.sampleOf(item);
    const { image } = await readAgain(sample, this.bad, () => loadImageLetterboxed(sample, this.size));
    return this.mirrored(item) ? mirrorSquare(image.data, this.size, 3) : image.data;
  }

  /** Item `item`'s label map in the square; the box is the image's, as the map matches its image pixel for pixel (the format checks). */
  async labels(item: number): Promise<Uint8Array> {
    const sample = this.sampleOf(item);
    const seg = await readAgain(sample, this.bad, () => labelMapOf(sample));
    const square = letterboxLabels(seg.data, letterbox(seg.width, seg.height, this.size), IGNORE);
    return this.mirrored(item) ? mirrorSquare(square, this.size, 1) : square;
  }

  /** Items' images back to back (NHWC). */
  async images(items: number[]): Promise<Float32Array> {
    const per = this.size * this.size * 3;
    const out = new Float32Array(items.length * per);
    await mapLimit(items, 8, async (item, b) => out.set(await this.image(item), b * per));
    return out;
  }

  /** Items' label maps back to back. */
  async labelBatch(items: number[]): Promise<Uint8Array> {
    const per = this.size * this.size;
    const out = new Uint8Array(items.length * per);
    await mapLimit(items, 8, async (item, b) => out.set(await this.labels(item), b * per));
    return out;
  }
}

/** Items per pass of the encoder over the training set: predictInBatches' batch, so each chunk is one batch as when the set was held. */
const FEATURE_CHUNK = 32;

/**
 * One pass of the initial encoder over every training item, a chunk at a
 * time (the next chunk decoding meanwhile): the scaler's statistics, and
 * for the frozen protocol the raw features of every item in a FeatureStore
 * (row = item), so neither holds the training set.
 */
async function trainFeatures(encoder: TransferEncoder, items: SegItems, storePath: string | null): Promise<{ scaler: FeatureScaler; store: FeatureStore | null }> {
  const size = encoder.inputSize;
  const fit = new ScalerFit(encoder.featureShape, true);
  const store = storePath ? await FeatureStore.create(storePath, fit.itemSize) : null;
  const chunks: number[][] = [];
  for (let start = 0; start < items.count; start += FEATURE_CHUNK) {
    chunks.push(Array.from({ length: Math.min(FEATURE_CHUNK, items.count - start) }, (_, k) => start + k));
  }
  try {
    let k = 0;
    for (const pixels of prefetchEach(chunks, 1, (chunk) => items.images(chunk))) {
      const count = chunks[k++].length;
      const features = await predictInBatches(encoder.model, await pixels, count, [size, size, 3], FEATURE_CHUNK);
      fit.add(features);
      await store?.append(features);
    }
  } catch (err) {
    await store?.close();
    throw err;
  }
  return { scaler: fit.finish(), store };
}

/** Test images whose reads run ahead of the one being scored. */
const TEST_PREFETCH = 2;

async function segment(job: DownstreamJob<TransferConfig>, ctx: DownstreamContext) {
  const { config } = job;
  const layer = job.layer!;
  const rng = new Rng(job.seed).fork('segmentation');
  const numClasses = ctx.dataset.classes.length + 1;
  const limit = (samples: SampleRef[], max?: number) => (max === undefined ? samples : samples.slice(0, max));
  const trainSamples = limit(await ctx.dataset.list(config.trainSplit, { with: 'labelMaps' }), config.maxTrainImages);
  const testSamples = limit(await ctx.dataset.list(config.testSplit, { with: 'labelMaps' }), config.maxTestImages);
  if (trainSamples.length === 0) {
    throw new UserError(
      `${job.dataset.root}: no label maps for the '${config.trainSplit}' split; segmentation needs them (VOC: SegmentationClass/*.png listed in ImageSets/Segmentation/${config.trainSplit}.txt, as in VOC2012 from http://host.robots.ox.ac.uk/pascal/VOC/voc2012/)`,
    );
  }
  const encoder = await loadTransferEncoder(job, ctx.protocol!, layer, config.inputSize);
  const size = encoder.inputSize;
  logLine(`segmentation/${job.protocol} on ${job.method}: ${trainSamples.length} train, ${testSamples.length} test images at ${size}px, ${numClasses} classes, features ${encoder.featureShape.join('x')} from ${layer}`);

  const bad = new BadSamples(job.dataset.onBadSample);
  // A sample needs both its image and its label map; either one bad leaves it out (or stops the job). Under "skip" both are read whole here, image first.
  const kept = await readableIndices(trainSamples, bad, async (sample) => {
    await loadImageLetterboxed(sample, size);
    await labelMapOf(sample);
  });
  const items = new SegItems(
    kept.map((i) => trainSamples[i]),
    size,
    bad,
  );
  const nTrain = kept.length;

  const head = buildSegHead(encoder.featureShape, config.headWidths[0] ?? 256, numClasses, rng.intSeed('head'));
  const optimizer = new TransferOptimizer(variablesOf(head), encoder.trainable, config);
  const calibration = Math.min(64, nTrain);
  calibrateEncoder(encoder, config.rescale, await items.images(Array.from({ length: calibration }, (_, i) => i)), calibration);
  // Features of the initial encoder: the scaler's statistics, and the frozen protocol's inputs (on disk, standardised per batch).
  const frozen = !encoder.trainsEncoder;
  const { scaler, store } = await trainFeatures(encoder, items, frozen ? join(job.outDir, FEATURE_STORE_FILE) : null);

  const sampler = new EpochSampler(items.count, rng.fork('order'));
  const loader = new StreamingBatchLoader(sampler, {
    batchSize: Math.min(config.batchSize, items.count),
    prefetch: TRAINING_PREFETCH,
    load: async (idx: number[]) => {
      const [input, labels] = await Promise.all([store ? store.read(idx) : items.images(idx), items.labelBatch(idx)]);
      return { idx, input, labels };
    },
  });
  let trainSeconds: number;
  try {
    const loop = await startTransferLoop(job, encoder, optimizer, { model: head }, { sampler: loader.samplerStream });
    for (let step = loop.firstStep; step <= config.steps; step++) {
      const { idx, input: data, labels: batchLabels } = await loader.next();
      // The same float32s as standardising the whole cache first: per channel, element by element.
      const input = store ? tf.tensor(scaler.applyInPlace(data), [idx.length, ...encoder.featureShape]) : tf.tensor4d(data, [idx.length, size, size, 3]);
      const loss = optimizer.step(() => {
        const feats = store ? input : scaler.apply(encoder.model.apply(input, { training: true }) as tf.Tensor);
        return segLoss(head.apply(feats, { training: true }) as tf.Tensor4D, batchLabels, size, numClasses);
      }, step);
      input.dispose();
      await loop.endStep(step, loss);
    }
    trainSeconds = loop.seconds();
  } finally {
    await loader.close();
    await store?.close();
  }
  optimizer.dispose();

  // Test on every pixel of each image, at its own resolution.
  const confusion = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  const reads = prefetchEach(testSamples, TEST_PREFETCH, async (testSample) => {
    const { image, box } = await loadImageLetterboxed(testSample, size);
    const seg = await labelMapOf(testSample);
    return { image: image.data, box, seg };
  });
  for (const read of reads) {
    const sample = await bad.tryLoad(() => read);
    if (!sample) continue;
    const { seg } = sample;
    const pred = tf.tidy(() => {
      const feats = scaler.apply(encoder.model.predict(tf.tensor4d(sample.image, [1, size, size, 3])) as tf.Tensor);
      return unletterboxLogits(head.predict(feats) as tf.Tensor4D, sample.box).argMax(-1);
    });
    const predicted = await pred.data();
    pred.dispose();
    const m = confusionMatrix(predicted, seg.data, numClasses, IGNORE);
    for (let r = 0; r < numClasses; r++) for (let c = 0; c < numClasses; c++) confusion[r][c] += m[r][c];
  }
  scaler.dispose();
  head.dispose();
  encoder.model.dispose();

  const iou = meanIoU(confusion);
  const names = ['background', ...ctx.dataset.classes];
  const perClassIoU: Record<string, number> = {};
  names.forEach((name, k) => (perClassIoU[name] = iou.perClass[k]));
  return {
    summary: { meanIU: iou.mean, pixelAcc: pixelAccuracy(confusion) },
    perClass: { IoU: perClassIoU },
    imgPerSec: encoder.trainsEncoder ? (config.steps * config.batchSize) / trainSeconds : 0,
    skippedSamples: bad.skipped,
  };
}


registerTask<TransferConfig>({
  name: 'segmentation',
  description: 'FCN-style per-pixel classifier on encoder features: per-class IoU, mean IU, pixel accuracy',
  config: TRANSFER_FIELDS,
  needs: { labelMaps: true },
  usesProtocols: true,
  layer: 'chosen',
  check: checkOptimizerFields,
  run: segment,
});
