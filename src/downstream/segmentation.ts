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
import { Rng } from '../engine/random.js';
import { logLine } from '../engine/log.js';
import { UserError } from '../errors.js';
import { EpochSampler, stackImages } from '../data/batches.js';
import { letterboxLabels, mirrorSquare, type Letterbox } from '../data/geometry.js';
import { loadImageLetterboxed } from '../data/image.js';
import { BadSamples } from '../data/samples.js';
import type { SampleRef } from '../data/formats/types.js';
import { confusionMatrix, meanIoU, pixelAccuracy } from '../metrics/index.js';
import { heNormal } from '../models/alexnet.js';
import { checkOptimizerFields, TRANSFER_FIELDS, type TransferConfig } from './config.js';
import { FeatureScaler, predictInBatches, variablesOf } from './features.js';
import { registerTask, type DownstreamContext } from './registry.js';
import { calibrateEncoder, loadTransferEncoder, startTransferLoop } from './transfer.js';
import { TransferOptimizer } from './transfer-optimizer.js';
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

/** Per-pixel softmax cross-entropy over upsampled logits, ignoring label 255. */
function segLoss(logits: tf.Tensor4D, labels: Uint8Array, size: number, numClasses: number): tf.Scalar {
  const n = logits.shape[0];
  const up = tf.image.resizeBilinear(logits, [size, size], true);
  const flatLabels = Int32Array.from(labels, (v) => (v === IGNORE ? 0 : v));
  const weights = Float32Array.from(labels, (v) => (v === IGNORE ? 0 : 1));
  const onehot = tf.oneHot(tf.tensor1d(flatLabels, 'int32'), numClasses);
  return tf.losses.softmaxCrossEntropy(onehot, up.reshape([n * size * size, numClasses]), tf.tensor1d(weights));
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
  // A sample needs both its image and its label map; either one bad leaves it out (or stops the job).
  const train = await bad.map(trainSamples, async (sample) => {
    const { image, box } = await loadImageLetterboxed(sample, size);
    const seg = await labelMapOf(sample);
    return { image: image.data, labels: letterboxLabels(seg.data, box, IGNORE) };
  });
  const trainImages = train.map((t) => t.value.image);
  const trainLabels = train.map((t) => t.value.labels);
  // Mirrored copies double the training set; labels mirror with them.
  const images = [...trainImages, ...trainImages.map((im) => mirrorSquare(im, size, 3))];
  const labels = [...trainLabels, ...trainLabels.map((l) => mirrorSquare(l, size, 1))];

  const head = buildSegHead(encoder.featureShape, config.headWidths[0] ?? 256, numClasses, rng.intSeed('head'));
  const optimizer = new TransferOptimizer(variablesOf(head), encoder.trainable, config);
  const featSize = encoder.featureShape.reduce((a, b) => a * b, 1);
  const stack = (idx: number[]) => stackImages(images, idx);
  const calibration = Math.min(64, trainImages.length);
  calibrateEncoder(encoder, config.rescale, stack(Array.from({ length: calibration }, (_, i) => i)), calibration);
  // Features of the initial encoder: the scaler's statistics, and the frozen protocol's inputs.
  const initialFeatures = await predictInBatches(encoder.model, stack(images.map((_, i) => i)), images.length, [size, size, 3]);
  const scaler = FeatureScaler.fit(initialFeatures, images.length, encoder.featureShape, true);
  const frozenFeatures = encoder.trainsEncoder ? null : scaler.applyInPlace(initialFeatures);

  const sampler = new EpochSampler(images.length, rng.fork('order'));
  const loop = await startTransferLoop(job, encoder, optimizer, { model: head }, { sampler });
  for (let step = loop.firstStep; step <= config.steps; step++) {
    const idx = sampler.take(Math.min(config.batchSize, images.length));
    const batchLabels = new Uint8Array(idx.length * size * size);
    idx.forEach((i, b) => batchLabels.set(labels[i], b * size * size));
    let input: tf.Tensor;
    if (frozenFeatures) {
      const f = new Float32Array(idx.length * featSize);
      idx.forEach((i, b) => f.set(frozenFeatures.subarray(i * featSize, (i + 1) * featSize), b * featSize));
      input = tf.tensor(f, [idx.length, ...encoder.featureShape]);
    } else {
      input = tf.tensor4d(stack(idx), [idx.length, size, size, 3]);
    }
    const loss = optimizer.step(() => {
      const feats = frozenFeatures ? input : scaler.apply(encoder.model.apply(input, { training: true }) as tf.Tensor);
      return segLoss(head.apply(feats, { training: true }) as tf.Tensor4D, batchLabels, size, numClasses);
    }, step);
    input.dispose();
    await loop.endStep(step, loss);
  }
  const trainSeconds = loop.seconds();
  optimizer.dispose();

  // Test on every pixel of each image, at its own resolution.
  const confusion = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  for (const testSample of testSamples) {
    const sample = await bad.tryLoad(async () => {
      const { image, box } = await loadImageLetterboxed(testSample, size);
      const seg = await labelMapOf(testSample);
      return { image: image.data, box, seg };
    });
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
