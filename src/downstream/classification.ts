/**
 * Classification transfer. VOC: 20-way multi-label (sigmoid cross-entropy,
 * difficult-only labels ignored), per-class AP and mAP on the test split.
 * Image folders: one class per subfolder, softmax, accuracy (and
 * one-vs-rest mAP). Training uses random crops and mirrors (fine-tuning:
 * optionally at a random scale, `scaleAugment`); testing the centre crop or
 * 10 crops (corners + centre, each mirrored).
 */
import * as tf from '@tensorflow/tfjs';
import { join } from 'node:path';
import { Rng } from '../engine/random.js';
import { logLine, Progress } from '../engine/log.js';
import { UserError } from '../errors.js';
import { cropViews, EpochSampler, type CropView } from '../data/batches.js';
import type { DatasetHandle, SampleRef } from '../data/formats/types.js';
import { decodeChunk, prefetchEach, readableIndices, StreamingCropLoader, TRAINING_PREFETCH } from '../data/loader.js';
import { BadSamples } from '../data/samples.js';
import { averagePrecision, meanAP } from '../metrics/index.js';
import { checkOptimizerFields, DEFAULT_LAYER, TRANSFER_FIELDS, type TransferConfig } from './config.js';
import { buildFcHead, concatFloat32, predictInBatches, ScalerFit, variablesOf, type FeatureScaler } from './features.js';
import { FEATURE_STORE_FILE, FeatureStore } from './feature-store.js';
import { PROTOCOLS } from './protocols/registry.js';
import { registerTask } from './registry.js';
import { calibrateEncoder, loadTransferEncoder, startTransferLoop, type TransferEncoder } from './transfer.js';
import { TransferOptimizer } from './transfer-optimizer.js';
import type { DownstreamContext } from './registry.js';
import type { DownstreamJob } from './types.js';

export interface ClassificationConfig extends TransferConfig {
  testCrops: 1 | 10;
  apMethod: 'voc07' | 'area' | 'sklearn';
  /** [min, max] factors of the fine-tuning crops' random scale; absent: one scale. */
  scaleAugment?: [number, number];
}

/** Labels per image and class: 1 present, -1 absent, 0 ignored (difficult only). */
interface LabelledSplit {
  samples: SampleRef[];
  labels: Int8Array[];
}

interface ClassificationData {
  classes: string[];
  /** true: one class per image (softmax, accuracy); false: multi-label (VOC). */
  exclusive: boolean;
  train: LabelledSplit;
  test: LabelledSplit;
}

/**
 * A split's labelled samples: per-class states where the format has them
 * (VOC), else one-hot of the sample's class; samples without a label (e.g.
 * of a class the training split lacks) are left out.
 */
async function labelledSplit(dataset: DatasetHandle, root: string, split: string, max?: number): Promise<LabelledSplit> {
  const all = await dataset.list(split);
  const labelled = all.filter((s) => s.labelStates !== undefined || (s.labels !== undefined && s.labels.length > 0));
  if (labelled.length === 0) {
    throw new UserError(`${root}: the '${split}' split has no labelled images; classification needs a class per image (VOC: ImageSets/Main/<class>_${split}.txt; folder: <root>/${split}/<class>/)`);
  }
  // Evenly spaced rather than the first `max`: folder and CIFAR listings run class by class, so a prefix would hold only the first classes.
  const kept = max === undefined || max >= labelled.length ? labelled : Array.from({ length: max }, (_, j) => labelled[Math.floor((j * labelled.length) / max)]);
  const c = dataset.classes.length;
  return {
    samples: kept,
    labels: kept.map((s) => s.labelStates ?? Int8Array.from({ length: c }, (_, k) => (s.labels!.includes(k) ? 1 : -1))),
  };
}

async function loadData(job: DownstreamJob<ClassificationConfig>, dataset: DatasetHandle): Promise<ClassificationData> {
  const { config } = job;
  const train = await labelledSplit(dataset, job.dataset.root, config.trainSplit, config.maxTrainImages);
  const test = await labelledSplit(dataset, job.dataset.root, config.testSplit, config.maxTestImages);
  return {
    classes: [...dataset.classes],
    // Formats with per-class states (VOC) are multi-label; a single class per image is exclusive.
    exclusive: train.samples[0].labelStates === undefined,
    train,
    test,
  };
}

/** Loss over logits: sigmoid CE ignoring 0 labels (multi-label), or softmax CE (exclusive). */
function classificationLoss(logits: tf.Tensor2D, labels: Int8Array[], exclusive: boolean): tf.Scalar {
  const n = labels.length;
  const c = labels[0].length;
  const target = new Float32Array(n * c);
  const weight = new Float32Array(n * c);
  labels.forEach((row, i) =>
    row.forEach((v, j) => {
      target[i * c + j] = v === 1 ? 1 : 0;
      weight[i * c + j] = v === 0 ? 0 : 1;
    }),
  );
  const t = tf.tensor2d(target, [n, c]);
  if (exclusive) return tf.losses.softmaxCrossEntropy(t, logits);
  return tf.losses.sigmoidCrossEntropy(t, logits, tf.tensor2d(weight, [n, c]));
}

/** Crop offsets (top-left) and mirror flags of the test views. */
function testViews(loadSize: number, crop: number, crops: 1 | 10): CropView[] {
  const c = (loadSize - crop) >> 1;
  const m = loadSize - crop;
  const centre = [{ y: c, x: c }];
  const five = [{ y: 0, x: 0 }, { y: 0, x: m }, { y: m, x: 0 }, { y: m, x: m }, { y: c, x: c }];
  const places = crops === 1 ? centre : five;
  return crops === 1 ? places.map((p) => ({ ...p, mirror: false })) : places.flatMap((p) => [{ ...p, mirror: false }, { ...p, mirror: true }]);
}

/** Images are decoded in chunks of this many, each once for all its views; a multiple of predictInBatches' batch. */
const FEATURE_CHUNK = 32;

/** The images of a split that read, and their labels. */
interface StreamedSplit {
  sources: SampleRef[];
  labels: Int8Array[];
}

async function readableSplit(split: LabelledSplit, bad: BadSamples): Promise<StreamedSplit> {
  const all = split.samples;
  if (all.length === 0) throw new UserError('no images to load: the dataset split is empty');
  const kept = await readableIndices(all, bad);
  if (kept.length === 0) throw new UserError(`no readable image among the ${all.length} listed (${all[0].source}, ...): every one was skipped as bad`);
  return { sources: kept.map((i) => all[i]), labels: kept.map((i) => split.labels[i]) };
}

/**
 * Streams the encoder outputs of `views` for every image to `use`, a chunk
 * of images at a time (one array per view, the chunk's images back to back):
 * each chunk is decoded once and dropped after its views have passed through
 * the encoder.
 */
async function forEachViewChunk(
  model: tf.LayersModel,
  split: StreamedSplit,
  loadSize: number,
  crop: number,
  views: CropView[],
  bad: BadSamples,
  use: (start: number, count: number, features: Float32Array[]) => void | Promise<void>,
  label: string,
): Promise<void> {
  const count = split.sources.length;
  // A feature pass over a large split is most of a frozen job's time (20,000 images x 5 views at 227 px: over an hour here):
  // a line every 30 s shows it is alive; a short pass prints nothing.
  const progress = new Progress(`classification: ${label} features (${views.length} views)`, count, count + 1);
  const started = performance.now();
  const chunks = Array.from({ length: Math.ceil(count / FEATURE_CHUNK) }, (_, c) =>
    Array.from({ length: Math.min(FEATURE_CHUNK, count - c * FEATURE_CHUNK) }, (_, k) => c * FEATURE_CHUNK + k),
  );
  // The next chunk decodes (in sharp's threads) while this one's views pass through the encoder.
  const decoded = prefetchEach(chunks, 1, (indices) => decodeChunk(split.sources, indices, loadSize, bad));
  for (const indices of chunks) {
    const start = indices[0];
    const bank = await decoded.next().value!;
    const local = indices.map((_, k) => k);
    const features: Float32Array[] = [];
    for (const view of views) {
      features.push(await predictInBatches(model, cropViews(bank, local, crop, local.map(() => view)), local.length, [crop, crop, 3]));
    }
    await use(start, local.length, features);
    const done = start + local.length;
    if (done < count) progress.update(done, `${(done / ((performance.now() - started) / 1000)).toFixed(1)} img/s`);
  }
  progress.stop();
}

/** What one pass over the training images gives: the scaler, and the features a protocol trains on. */
interface TrainFeatures {
  /** Fitted on the centre crops' features (of the initial encoder, before any fine-tuning). */
  scaler: FeatureScaler;
  /** Centre-crop features of every image, raw, in memory: only when the protocol fits on features itself (kNN, linear). */
  centre: Float32Array | null;
  /** Raw features of `views` of every image on disk, row `image * views + view`: only for the frozen protocol. */
  store: FeatureStore | null;
}

export { FEATURE_STORE_FILE };

/**
 * One pass of the encoder over the training images: the scaler's statistics
 * accumulate a chunk at a time, and the frozen protocol's augmented views go
 * to a FeatureStore in the job folder, so neither the scaler's fit nor the
 * cache holds a whole split's features on the heap.
 */
async function trainFeatures(
  model: tf.LayersModel,
  split: StreamedSplit,
  loadSize: number,
  crop: number,
  featureShape: number[],
  centre: CropView,
  opts: { keepCentre: boolean; views: CropView[]; storePath: string },
  bad: BadSamples,
): Promise<TrainFeatures> {
  const fit = new ScalerFit(featureShape, false);
  const featSize = fit.itemSize;
  const centreParts: Float32Array[] = [];
  const nViews = opts.views.length;
  const store = nViews > 0 ? await FeatureStore.create(opts.storePath, featSize) : null;
  try {
    await forEachViewChunk(model, split, loadSize, crop, [centre, ...opts.views], bad, async (_start, count, [centreFeatures, ...viewFeatures]) => {
      fit.add(centreFeatures);
      if (opts.keepCentre) centreParts.push(centreFeatures);
      if (!store) return;
      // Image-major rows, so a chunk is one append: row image * views + view.
      const rows = new Float32Array(count * nViews * featSize);
      for (let k = 0; k < count; k++) {
        viewFeatures.forEach((f, v) => rows.set(f.subarray(k * featSize, (k + 1) * featSize), (k * nViews + v) * featSize));
      }
      await store.append(rows);
    }, 'train');
  } catch (err) {
    await store?.close();
    throw err;
  }
  return { scaler: fit.finish(), centre: opts.keepCentre ? concatFloat32(centreParts) : null, store };
}

function sigmoidOrSoftmax(logits: Float32Array, n: number, c: number, exclusive: boolean): Float32Array {
  return tf.tidy(() => {
    const t = tf.tensor2d(logits, [n, c]);
    return (exclusive ? tf.softmax(t) : tf.sigmoid(t)).dataSync() as Float32Array;
  });
}

async function classify(job: DownstreamJob<ClassificationConfig>, ctx: DownstreamContext) {
  const { config } = job;
  const layer = job.layer!;
  const rng = new Rng(job.seed).fork('classification');
  const data = await loadData(job, ctx.dataset);
  const c = data.classes.length;
  const encoder: TransferEncoder = await loadTransferEncoder(job, ctx.protocol!, layer);
  const size = encoder.inputSize;
  const loadSize = Math.round(size * 1.15);
  const bad = new BadSamples(job.dataset.onBadSample);
  // Images stream from disk; labels follow the images that read.
  const train = await readableSplit(data.train, bad);
  const test = await readableSplit(data.test, bad);
  const trainLabels = train.labels;
  const testLabels = test.labels;
  const nTrain = train.sources.length;
  logLine(`classification/${job.protocol} on ${job.method}: ${nTrain} train, ${test.sources.length} test images, ${c} classes, features ${encoder.featureShape.join('x')} from ${layer}${encoder.featureShape.join() === encoder.layerShape.join() ? '' : ` (average-pooled from ${encoder.layerShape.join('x')})`}`);

  const featSize = encoder.featureShape.reduce((a, b) => a * b, 1);
  const [centre] = testViews(loadSize, size, 1);
  const calibrationCount = Math.min(64, nTrain);
  const calibration = Array.from({ length: calibrationCount }, (_, i) => i);
  const calibrationBank = await decodeChunk(train.sources, calibration, loadSize, bad);
  calibrateEncoder(encoder, config.rescale, cropViews(calibrationBank, calibration, size, calibration.map(() => centre)), calibrationCount);
  const fit = ctx.protocol!.fitFeatures;
  // Frozen: features of a few fixed augmented views per image, computed once, in the same pass as the scaler's centre views.
  const frozenViews = encoder.trainsEncoder || fit ? [] : testViews(loadSize, size, 10).filter((_, i) => i % 3 === 0 || i === 9);
  const features = await trainFeatures(
    encoder.model,
    train,
    loadSize,
    size,
    encoder.featureShape,
    centre,
    { keepCentre: fit !== undefined, views: frozenViews, storePath: join(job.outDir, FEATURE_STORE_FILE) },
    bad,
  );
  const { scaler } = features;

  if (fit) {
    // The protocol fits on the encoder's features itself (e.g. kNN): the training images' centre crops, standardised.
    const started = performance.now();
    const predict = fit({ features: scaler.applyInPlace(features.centre!), labels: trainLabels, featureSize: featSize, seed: rng.intSeed('protocol') }, config);
    const trainSeconds = (performance.now() - started) / 1000;
    const scores = await testScores(encoder, test, loadSize, config.testCrops, bad, c, async (raw, count) => predict(scaler.applyInPlace(raw), count));
    scaler.dispose();
    return scoreTest(job, data, scores, testLabels, trainSeconds, bad, encoder);
  }

  const head = buildFcHead(encoder.featureShape, config.headWidths, c, rng.intSeed('head'));
  const optimizer = new TransferOptimizer(variablesOf(head), encoder.trainable, config);
  const sampler = new EpochSampler(nTrain, rng.fork('order'));
  const cropRng = rng.fork('crops');
  const batch = Math.min(config.batchSize, nTrain);
  let trainSeconds: number;
  if (encoder.trainsEncoder) {
    const loader = new StreamingCropLoader(train.sources, { loadSize, crop: size, batchSize: batch, prefetch: TRAINING_PREFETCH, scale: config.scaleAugment }, sampler, cropRng, bad);
    const loop = await startTransferLoop(job, encoder, optimizer, { model: head }, { sampler: loader.samplerStream, crops: loader.cropStream });
    for (let step = loop.firstStep; step <= config.steps; step++) {
      const { indices: idx, images } = await loader.next();
      const x = tf.tensor4d(images, [idx.length, size, size, 3]);
      const loss = optimizer.step(() => {
        const feats = scaler.apply(encoder.model.apply(x, { training: true }) as tf.Tensor);
        return classificationLoss(head.apply(feats, { training: true }) as tf.Tensor2D, idx.map((i) => trainLabels[i]), data.exclusive);
      }, step);
      x.dispose();
      await loop.endStep(step, loss);
    }
    trainSeconds = loop.seconds();
    await loader.close();
  } else {
    // Each step reads its batch's rows from disk, one random view per image, and standardises them: the same float32s as scaling the whole cache first.
    const store = features.store!;
    const nViews = frozenViews.length;
    const viewRng = rng.fork('views');
    try {
      const loop = await startTransferLoop(job, encoder, optimizer, { model: head }, { sampler, views: viewRng });
      for (let step = loop.firstStep; step <= config.steps; step++) {
        const idx = sampler.take(batch);
        const feats = scaler.applyInPlace(await store.read(idx.map((i) => i * nViews + viewRng.int(nViews))));
        const f = tf.tensor(feats, [idx.length, ...encoder.featureShape]);
        const loss = optimizer.step(() => classificationLoss(head.apply(f, { training: true }) as tf.Tensor2D, idx.map((i) => trainLabels[i]), data.exclusive), step);
        f.dispose();
        await loop.endStep(step, loss);
      }
      trainSeconds = loop.seconds();
    } finally {
      await store.close();
    }
  }
  optimizer.dispose();
  const scores = await testScores(encoder, test, loadSize, config.testCrops, bad, c, async (raw, count) => {
    const logits = await predictInBatches(head, scaler.applyInPlace(raw), count, encoder.featureShape);
    return sigmoidOrSoftmax(logits, count, c, data.exclusive);
  });
  scaler.dispose();
  head.dispose();
  return scoreTest(job, data, scores, testLabels, trainSeconds, bad, encoder);
}

/** Per-class scores of every test image averaged over its views, streamed a chunk of images at a time (each decoded once). */
async function testScores(
  encoder: TransferEncoder,
  test: StreamedSplit,
  loadSize: number,
  testCrops: 1 | 10,
  bad: BadSamples,
  c: number,
  probabilities: (features: Float32Array, count: number) => Promise<Float32Array>,
): Promise<Float32Array> {
  const scores = new Float32Array(test.sources.length * c);
  const views = testViews(loadSize, encoder.inputSize, testCrops);
  await forEachViewChunk(encoder.model, test, loadSize, encoder.inputSize, views, bad, async (start, count, perView) => {
    for (const raw of perView) {
      const probs = await probabilities(raw, count);
      for (let i = 0; i < probs.length; i++) scores[start * c + i] += probs[i] / views.length;
    }
  }, 'test');
  return scores;
}

/** AP per class, mAP and (one class per image) accuracy of the test scores. */
async function scoreTest(
  job: DownstreamJob<ClassificationConfig>,
  data: ClassificationData,
  scores: Float32Array,
  testLabels: Int8Array[],
  trainSeconds: number,
  bad: BadSamples,
  encoder: TransferEncoder,
) {
  const { config } = job;
  const c = data.classes.length;
  const n = testLabels.length;
  const testIdx = Array.from({ length: n }, (_, i) => i);
  encoder.model.dispose();

  const ap: Record<string, number> = {};
  data.classes.forEach((cls, j) => {
    ap[cls] = averagePrecision(
      testIdx.map((i) => scores[i * c + j]),
      testIdx.map((i) => testLabels[i][j]),
      config.apMethod,
    );
  });
  const summary: Record<string, number> = { mAP: meanAP(Object.values(ap)) };
  if (data.exclusive) {
    let correct = 0;
    for (const i of testIdx) {
      const row = scores.subarray(i * c, (i + 1) * c);
      const best = row.indexOf(Math.max(...row));
      if (testLabels[i][best] === 1) correct += 1;
    }
    summary.accuracy = correct / n;
  }
  return {
    summary,
    perClass: { AP: ap },
    imgPerSec: encoder.trainsEncoder ? (config.steps * config.batchSize) / trainSeconds : 0,
    skippedSamples: bad.skipped,
  };
}

/** The optimiser fields' problems, and a scale range that is reversed or that no job of the entry would use. */
function checkClassification(config: ClassificationConfig): string[] {
  const problems = checkOptimizerFields(config);
  const range = config.scaleAugment;
  if (range) {
    if (range[0] > range[1]) problems.push(`scaleAugment: give [min, max], the smaller factor first (got [${range.join(', ')}])`);
    const layers = config.layers ?? [config.layer ?? DEFAULT_LAYER];
    const finetunes = (config.protocols ?? []).some((name) => layers.some((layer) => PROTOCOLS.get(name).trainedLayers(config, layer).length > 0));
    if (!finetunes) {
      problems.push(`scaleAugment: applies to the random crops of protocols that train the encoder, and none of ${JSON.stringify(config.protocols)} does (they train on fixed views); add one that fine-tunes or remove scaleAugment`);
    }
  }
  return problems;
}

registerTask<ClassificationConfig>({
  name: 'classification',
  description: 'a head on encoder features: multi-label (VOC: per-class AP, mAP) or one class per image (softmax: accuracy, one-vs-rest mAP)',
  config: {
    properties: {
      ...TRANSFER_FIELDS.properties,
      testCrops: { enum: [1, 10], default: 1 },
      apMethod: { enum: ['voc07', 'area', 'sklearn'], default: 'voc07' },
      // No default: absent keeps one scale, and existing job keys.
      scaleAugment: {
        type: 'array',
        minItems: 2,
        maxItems: 2,
        items: { type: 'number', exclusiveMinimum: 0, maximum: 4 },
        description:
          "[min, max]: fine-tuning crops come from the image rescaled by a factor drawn uniformly from this range (1: the size the test crops come from; smaller than the crop: padded with the mean colour), as Krähenbühl et al.'s [0.5, 2]. Protocols that keep the encoder fixed train on fixed views and do not read it.",
      },
    },
  },
  needs: { labels: true },
  usesProtocols: true,
  fitsFeatures: true,
  layer: 'chosen',
  check: checkClassification,
  run: classify,
});
