/**
 * Detection transfer, Fast R-CNN style (Girshick 2015), as the paper
 * evaluates its features: RoI max pooling (6x6) on the encoder's conv5,
 * re-initialised fc6 and fc7, then a softmax over the classes plus background
 * and per-class box regression; mAP at IoU 0.5 on the test split.
 *
 * Each image is stretched to a square of side S (the task's inputSize, else
 * the pretext size); boxes are scaled with it and scaled back to the original
 * pixels, VOC's 1-based inclusive convention, for evaluation. Inside, boxes
 * are 0-based inclusive pixels of the S x S input (py-faster-rcnn's frame).
 *
 * A step takes 2 images (fewer if batchSize is smaller) and `roisPerImage`
 * RoIs from each, 25% foreground, as Fast R-CNN's 2 x 64 minibatch. Frozen:
 * conv5 of every training image and of its mirror image is computed once,
 * into a FeatureStore file in the job folder that each step reads its rows
 * from. Finetune: the encoder runs on the step's images, decoded a few
 * steps ahead (StreamingBatchLoader), and RoI pooling passes gradients into
 * it. Both standardise conv5 per channel with the initial encoder's
 * statistics (FeatureScaler), as the other transfer tasks do. No pass holds
 * more than a chunk of images: what stays in memory is each image's
 * annotation and proposals.
 */
import * as tf from '@tensorflow/tfjs';
import { join } from 'node:path';
import { EpochSampler, mapLimit } from '../data/batches.js';
import { checkImage, loadImage } from '../data/image.js';
import { prefetchEach, readAgain, StreamingBatchLoader, TRAINING_PREFETCH } from '../data/loader.js';
import { BadSamples } from '../data/samples.js';
import type { DatasetHandle, SampleRef } from '../data/formats/types.js';
import type { VocAnnotation } from '../data/voc.js';
import { logLine, Progress } from '../engine/log.js';
import { Rng } from '../engine/random.js';
import { UserError } from '../errors.js';
import { detectionAP, meanAP, type Box, type Detection, type TruthBox } from '../metrics/index.js';
import { heNormal } from '../models/alexnet.js';
import { freshDropout } from '../models/fresh-dropout.js';
import { concatFloat32, ScalerFit, type FeatureScaler } from './features.js';
import { FEATURE_STORE_FILE, FeatureStore } from './feature-store.js';
import { nms } from './nms.js';
import { clipBox, jitterBoxes, loadProposalFile, proposalsForIds, sampleRois, slidingWindows, type GroundTruth } from './proposals.js';
import { calibrateEncoder, loadTransferEncoder, startTransferLoop, type TransferEncoder } from './transfer.js';
import { TransferOptimizer } from './transfer-optimizer.js';
import { groupIdenticalRois, roiPool, type Roi, type RoiGroups, type RoiPoolOptions } from './roi-pool.js';
import { checkOptimizerFields, TRANSFER_FIELDS, type TransferConfig } from './config.js';
import { registerTask, type DownstreamContext } from './registry.js';
import type { DownstreamJob } from './types.js';

export interface DetectionConfig extends TransferConfig {
  apMethod: 'voc07' | 'area';
  proposals?: string;
  roisPerImage: number;
}

const POOLED_SIZE = 6;
const IMAGES_PER_STEP = 2;
const FG_FRACTION = 0.25;
const JITTERS_PER_BOX = 8;
const DROPOUT = 0.5;
const NMS_IOU = 0.3;
/** Per class, only the best-scoring RoIs enter NMS: the rest would fall below the per-image cut anyway. */
const PRE_NMS_PER_CLASS = 300;
const MAX_PER_IMAGE = 100;
const TEST_ROI_CHUNK = 256;
/**
 * Frozen: skip the mirrored conv5 copies when all of them would take more
 * than this. They now go to disk, not memory; the limit stays so that runs
 * which trained without mirrors keep their numbers (VOC07 trainval at 227 px
 * is about 0.9 GB, under it).
 */
const MIRROR_FEATURE_BUDGET_BYTES = 2 ** 31;
/** Training images whose initial conv5 gives the per-channel standardisation (plenty for per-channel statistics). */
const SCALER_IMAGES = 256;
/** Images per encoder pass when computing conv5 for the scaler or the frozen cache (the batch the cache was always computed in). */
const CONV5_CHUNK = 8;
/** Test images decoded ahead of the one being scored. */
const TEST_PREFETCH = 2;

/**
 * Feature cells per input pixel: the first and last pixel land on the first
 * and last cell. Fast R-CNN's 1/16 (AlexNet's conv5 stride) ignores that the
 * valid 11x11 conv1 and the pools shrink the map by a few cells: at 227 px
 * conv5 is 13 cells, not 14.2, and with 1/16 the outer 27 px would pool only
 * empty bins; at 99 px (5 cells) the outer fifth.
 */
export function spatialScale(inputSize: number, mapSize: number): number {
  return mapSize > 1 ? (mapSize - 1) / (inputSize - 1) : 0;
}

/** Fast R-CNN's target normalisation (py-faster-rcnn BBOX_NORMALIZE_MEANS / STDS). */
export const BOX_TARGET_MEANS = [0, 0, 0, 0] as const;
export const BOX_TARGET_STDS = [0.1, 0.1, 0.2, 0.2] as const;
/** Largest predicted log-scale of a side, so exp() stays finite early in training. */
const MAX_LOG_SCALE = Math.log(1000 / 16);

/** Regression target (dx, dy, dw, dh), normalised, that moves `roi` onto `gt` (both inclusive boxes). */
export function encodeBoxTarget(roi: Box, gt: Box): [number, number, number, number] {
  const w = roi[2] - roi[0] + 1;
  const h = roi[3] - roi[1] + 1;
  const gw = gt[2] - gt[0] + 1;
  const gh = gt[3] - gt[1] + 1;
  const raw = [(gt[0] + 0.5 * gw - (roi[0] + 0.5 * w)) / w, (gt[1] + 0.5 * gh - (roi[1] + 0.5 * h)) / h, Math.log(gw / w), Math.log(gh / h)];
  return raw.map((v, k) => (v - BOX_TARGET_MEANS[k]) / BOX_TARGET_STDS[k]) as [number, number, number, number];
}

/** Inverse of `encodeBoxTarget`: the box that normalised deltas `t[offset..offset+3]` give for `roi`. */
export function decodeBox(roi: Box, t: ArrayLike<number>, offset = 0): Box {
  const [dx, dy, dw, dh] = [0, 1, 2, 3].map((k) => t[offset + k] * BOX_TARGET_STDS[k] + BOX_TARGET_MEANS[k]);
  const w = roi[2] - roi[0] + 1;
  const h = roi[3] - roi[1] + 1;
  const cx = roi[0] + 0.5 * w + dx * w;
  const cy = roi[1] + 0.5 * h + dy * h;
  const pw = w * Math.exp(Math.min(dw, MAX_LOG_SCALE));
  const ph = h * Math.exp(Math.min(dh, MAX_LOG_SCALE));
  return [cx - 0.5 * pw, cy - 0.5 * ph, cx + 0.5 * pw - 1, cy + 0.5 * ph - 1];
}

function flipBox(box: Box, size: number): Box {
  return [size - 1 - box[2], box[1], size - 1 - box[0], box[3]];
}

/** VOC (1-based, original pixels) -> network input (0-based, S x S), as py-faster-rcnn scales its 0-based boxes. */
export function vocToNet(box: Box, sx: number, sy: number): Box {
  return [(box[0] - 1) * sx, (box[1] - 1) * sy, (box[2] - 1) * sx, (box[3] - 1) * sy];
}

export function netToVoc(box: Box, sx: number, sy: number, width: number, height: number): Box {
  const x = (v: number) => Math.min(Math.max(v / sx + 1, 1), width);
  const y = (v: number) => Math.min(Math.max(v / sy + 1, 1), height);
  return [x(box[0]), y(box[1]), x(box[2]), y(box[3])];
}

function flipImage(data: Float32Array, size: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const src = (y * size + x) * 3;
      const dst = (y * size + (size - 1 - x)) * 3;
      out[dst] = data[src];
      out[dst + 1] = data[src + 1];
      out[dst + 2] = data[src + 2];
    }
  }
  return out;
}

interface DetImage {
  id: string;
  sample: SampleRef;
  annotation: VocAnnotation;
  /** Non-difficult objects of known classes, in network pixels. */
  truth: GroundTruth[];
  /** Network pixels. */
  proposals: Box[];
}

/** A sample's object boxes; the format promised them (checked at load), so a sample without them is a bug. */
function annotationOf(sample: SampleRef): Promise<VocAnnotation> {
  if (!sample.annotation) throw new Error(`${sample.source}: the dataset format promises object boxes but gives none`);
  return sample.annotation();
}

async function loadSplit(
  dataset: DatasetHandle,
  split: string,
  max: number | undefined,
  size: number,
  proposalFile: { path: string; boxes: Map<string, Box[]> } | null,
  windows: Box[],
  bad: BadSamples,
): Promise<DetImage[]> {
  const all = await dataset.list(split);
  const samples = max === undefined ? all : all.slice(0, max);
  const ids = samples.map((s) => s.id);
  const fromFile = proposalFile ? proposalsForIds(proposalFile.path, proposalFile.boxes, ids) : null;
  // Images are read again at every step and test pass; a bad one is found (and stops or is skipped) here, once.
  const loaded = await bad.map(samples, async (sample) => {
    await checkImage(sample);
    return annotationOf(sample);
  });
  return loaded.map(({ index: i, value: annotation }) => {
    const sx = size / annotation.width;
    const sy = size / annotation.height;
    const truth: GroundTruth[] = [];
    for (const o of annotation.objects) {
      const k = dataset.classes.indexOf(o.name);
      if (k >= 0 && !o.difficult) truth.push({ box: vocToNet(o.box, sx, sy), label: k + 1 });
    }
    const proposals = fromFile ? fromFile[i].map((b) => clipBox(vocToNet(b, sx, sy), size, size)) : windows;
    return { id: ids[i], sample: samples[i], annotation, truth, proposals };
  });
}

/** fc6 .. fcN (ReLU, dropout) -> class scores (C + 1) and per-class box deltas (4C), on plain variables. */
class DetectionHead {
  private readonly fc: { w: tf.Variable; b: tf.Variable }[] = [];
  private cls!: { w: tf.Variable; b: tf.Variable };
  private reg!: { w: tf.Variable; b: tf.Variable };

  constructor(inputSize: number, widths: readonly number[], classes: number, rng: Rng) {
    // tidy drops the initial values; variables outlive it.
    tf.tidy(() => this.init(inputSize, widths, classes, rng));
  }

  private init(inputSize: number, widths: readonly number[], classes: number, rng: Rng): void {
    let fanIn = inputSize;
    widths.forEach((width, i) => {
      const name = `fc${6 + i}`;
      this.fc.push({
        w: tf.variable(heNormal(fanIn, rng.intSeed(name)).apply([fanIn, width]) as tf.Tensor),
        b: tf.variable(tf.zeros([width])),
      });
      fanIn = width;
    });
    // Fast R-CNN's initialisation of the two output layers.
    const normal = (shape: number[], std: number, label: string) =>
      tf.initializers.randomNormal({ mean: 0, stddev: std, seed: rng.intSeed(label) }).apply(shape) as tf.Tensor;
    this.cls = { w: tf.variable(normal([fanIn, classes + 1], 0.01, 'cls')), b: tf.variable(tf.zeros([classes + 1])) };
    this.reg = { w: tf.variable(normal([fanIn, 4 * classes], 0.001, 'reg')), b: tf.variable(tf.zeros([4 * classes])) };
  }

  get variables(): tf.Variable[] {
    return [...this.fc.flatMap((l) => [l.w, l.b]), this.cls.w, this.cls.b, this.reg.w, this.reg.b];
  }

  /** A mask stream switches dropout on, for training. */
  apply(pooled: tf.Tensor4D, dropout: Rng | null): { scores: tf.Tensor2D; deltas: tf.Tensor2D } {
    let x: tf.Tensor2D = tf.reshape(pooled, [pooled.shape[0], -1]);
    this.fc.forEach((l, i) => {
      x = tf.relu(tf.add(tf.matMul(x, l.w), l.b));
      if (dropout) x = freshDropout(x, DROPOUT, dropout) as tf.Tensor2D;
    });
    return {
      scores: tf.add(tf.matMul(x, this.cls.w), this.cls.b),
      deltas: tf.add(tf.matMul(x, this.reg.w), this.reg.b),
    };
  }

  dispose(): void {
    for (const v of this.variables) v.dispose();
  }
}

/** Sum of smooth L1 (sigma 1) over the weighted entries, divided by the RoI count, as Fast R-CNN normalises. */
function smoothL1(pred: tf.Tensor2D, target: tf.Tensor2D, weight: tf.Tensor2D): tf.Scalar {
  const a = tf.abs(tf.sub(pred, target));
  // 0.5 x^2 below 1, |x| - 0.5 above, written without a comparison (tfjs has no gradient for Less).
  const m = tf.minimum(a, 1);
  const l = tf.add(tf.mul(tf.square(m), 0.5), tf.sub(a, m));
  return tf.div(tf.sum(tf.mul(l, weight)), pred.shape[0]);
}

interface StepBatch {
  rois: Roi[];
  labels: Int32Array;
  targets: Float32Array;
  weights: Float32Array;
}

/** Samples the step's RoIs on each image (mirrored boxes where `mirror`), with labels and regression targets. */
function buildStepBatch(images: DetImage[], mirror: boolean[], classes: number, size: number, roisPerImage: number, rng: Rng): StepBatch {
  const rois: Roi[] = [];
  const labels: number[] = [];
  const targets: number[][] = [];
  images.forEach((img, b) => {
    const gtBoxes = img.truth.map((t) => t.box);
    const candidates = [...img.proposals, ...gtBoxes, ...jitterBoxes(gtBoxes, JITTERS_PER_BOX, size, rng)];
    const sample = sampleRois(candidates, img.truth, { roisPerImage, fgFraction: FG_FRACTION }, rng);
    sample.boxes.forEach((box, k) => {
      const roi = mirror[b] ? flipBox(box, size) : box;
      rois.push({ batch: b, box: roi });
      labels.push(sample.labels[k]);
      const g = sample.gtIndex[k];
      targets.push(g < 0 ? [0, 0, 0, 0] : encodeBoxTarget(roi, mirror[b] ? flipBox(img.truth[g].box, size) : img.truth[g].box));
    });
  });
  const r = rois.length;
  const t = new Float32Array(r * 4 * classes);
  const w = new Float32Array(r * 4 * classes);
  labels.forEach((label, i) => {
    if (label === 0) return;
    const at = i * 4 * classes + (label - 1) * 4;
    t.set(targets[i], at);
    w.fill(1, at, at + 4);
  });
  return { rois, labels: Int32Array.from(labels), targets: t, weights: w };
}

interface DetectionContext {
  encoder: TransferEncoder;
  scaler: FeatureScaler;
  pooling: RoiPoolOptions;
  head: DetectionHead;
  size: number;
  classes: number;
}

/**
 * The last proposal list grouped, and its groups: the built-in windows are
 * one array for every image, grouped once per map shape and pooling; a
 * proposal file's lists are per image and grouped each time, so nothing
 * accumulates over a test set.
 */
let lastGroups: { proposals: readonly Box[]; key: string; groups: RoiGroups } | null = null;

function roiGroupsOf(proposals: readonly Box[], mapShape: [number, number, number], pooling: RoiPoolOptions): RoiGroups {
  const key = `${mapShape.join('x')}/${pooling.pooledSize ?? ''}/${pooling.spatialScale}`;
  if (lastGroups?.proposals !== proposals || lastGroups.key !== key) {
    lastGroups = { proposals, key, groups: groupIdenticalRois(proposals.map((box) => ({ batch: 0, box })), mapShape, pooling) };
  }
  return lastGroups.groups;
}

/**
 * Softmax scores [n, C + 1] and box deltas [n, 4C] of every proposal of one
 * image. Proposals that pool the same cells get the same outputs, so the
 * head runs once per group and its rows are copied to the group's members
 * (the same numbers bit for bit: a row of a matrix product does not depend
 * on the other rows).
 */
async function scoreProposals(ctx: DetectionContext, img: DetImage, pixels: Float32Array): Promise<{ probs: Float32Array; deltas: Float32Array }> {
  const { size, classes } = ctx;
  const maps = tf.tidy(() => ctx.scaler.apply(ctx.encoder.model.predict(tf.tensor4d(pixels, [1, size, size, 3])) as tf.Tensor) as tf.Tensor4D);
  const [, mh, mw] = maps.shape;
  const { representatives, groupOf } = roiGroupsOf(img.proposals, [1, mh, mw], ctx.pooling);
  const groups = representatives.length;
  const groupProbs = new Float32Array(groups * (classes + 1));
  const groupDeltas = new Float32Array(groups * 4 * classes);
  for (let start = 0; start < groups; start += TEST_ROI_CHUNK) {
    const chunk = representatives.slice(start, start + TEST_ROI_CHUNK).map((r) => ({ batch: 0, box: img.proposals[r] }));
    const [p, d] = tf.tidy(() => {
      const out = ctx.head.apply(roiPool(maps, chunk, ctx.pooling), null);
      return [tf.softmax(out.scores), out.deltas];
    });
    groupProbs.set(await p.data(), start * (classes + 1));
    groupDeltas.set(await d.data(), start * 4 * classes);
    p.dispose();
    d.dispose();
  }
  maps.dispose();
  const n = img.proposals.length;
  const probs = new Float32Array(n * (classes + 1));
  const deltas = new Float32Array(n * 4 * classes);
  for (let i = 0; i < n; i++) {
    const g = groupOf[i];
    probs.set(groupProbs.subarray(g * (classes + 1), (g + 1) * (classes + 1)), i * (classes + 1));
    deltas.set(groupDeltas.subarray(g * 4 * classes, (g + 1) * 4 * classes), i * 4 * classes);
  }
  return { probs, deltas };
}

export interface ImageDetection {
  /** 0-based index into the dataset's classes. */
  cls: number;
  score: number;
  /** Original image pixels, VOC's 1-based inclusive convention. */
  box: Box;
}

/**
 * Fast R-CNN's test-time post-processing of one image: per class, the
 * proposals' regressed boxes (clipped to the image), NMS at IoU 0.3 among the
 * class's 300 best, then the 100 best over all classes, mapped back from the
 * size x size input to the original width x height.
 */
export function imageDetections(
  proposals: readonly Box[],
  probs: ArrayLike<number>,
  deltas: ArrayLike<number>,
  classes: number,
  size: number,
  original: { width: number; height: number },
): ImageDetection[] {
  const n = proposals.length;
  const sx = size / original.width;
  const sy = size / original.height;
  const found: ImageDetection[] = [];
  for (let c = 0; c < classes; c++) {
    const score = (i: number) => probs[i * (classes + 1) + c + 1];
    const top = Array.from({ length: n }, (_, i) => i)
      .sort((a, b) => score(b) - score(a) || a - b)
      .slice(0, PRE_NMS_PER_CLASS);
    const boxes = top.map((i) => clipBox(decodeBox(proposals[i], deltas, i * 4 * classes + c * 4), size, size));
    const scores = top.map(score);
    for (const k of nms(boxes, scores, NMS_IOU, MAX_PER_IMAGE)) {
      found.push({ cls: c, score: scores[k], box: netToVoc(boxes[k], sx, sy, original.width, original.height) });
    }
  }
  return found.sort((a, b) => b.score - a.score).slice(0, MAX_PER_IMAGE);
}

/** An image stretched to the network's square (its boxes were scaled with it); it passed checkImage when the job started. */
function netPixels(img: DetImage, size: number, bad: BadSamples): Promise<Float32Array> {
  return readAgain(img.sample, bad, async () => (await loadImage(img.sample, { size, fit: 'resize' })).data);
}

/**
 * conv5 of each image and, when `mirrored`, of its mirror image, handed to
 * `use` a chunk at a time (the chunk's maps back to back) while the next
 * chunk decodes; each chunk is one encoder batch (plain views, then mirrored).
 */
async function conv5Pass(
  encoder: TransferEncoder,
  images: DetImage[],
  size: number,
  mirrored: boolean,
  bad: BadSamples,
  use: (plain: Float32Array, mirror: Float32Array | null) => Promise<void> | void,
): Promise<void> {
  const chunks: DetImage[][] = [];
  for (let start = 0; start < images.length; start += CONV5_CHUNK) chunks.push(images.slice(start, start + CONV5_CHUNK));
  const progress = new Progress('detection: conv5 features', images.length, Math.max(1, Math.ceil(images.length / 10)));
  let done = 0;
  const decoded = prefetchEach(chunks, 1, (part) => mapLimit(part, CONV5_CHUNK, (img) => netPixels(img, size, bad)));
  for (const read of decoded) {
    const pixels = await read;
    const views = mirrored ? [...pixels, ...pixels.map((p) => flipImage(p, size))] : pixels;
    const out = tf.tidy(() => encoder.model.predict(tf.tensor4d(concatFloat32(views), [views.length, size, size, 3])) as tf.Tensor);
    const data = (await out.data()) as Float32Array;
    out.dispose();
    const half = pixels.length * (data.length / views.length);
    await use(data.subarray(0, half), mirrored ? data.subarray(half) : null);
    done += pixels.length;
    progress.update(done, '');
  }
  progress.stop();
}

/**
 * Frozen: raw conv5 of every training image (and of its mirror image when
 * `mirrored`) in a FeatureStore, row `image * 2 + mirror` (`image` without
 * mirrors); the scaler's statistics from the first SCALER_IMAGES plain maps
 * in the same pass. Finetune: only the statistics.
 */
async function trainMaps(
  encoder: TransferEncoder,
  train: DetImage[],
  size: number,
  bad: BadSamples,
  cache: { path: string; mirrored: boolean } | null,
): Promise<{ scaler: FeatureScaler; store: FeatureStore | null }> {
  const fit = new ScalerFit(encoder.featureShape, true);
  const per = fit.itemSize;
  let seen = 0;
  const addStats = (plain: Float32Array): void => {
    const take = Math.max(0, Math.min(plain.length / per, SCALER_IMAGES - seen));
    if (take > 0) fit.add(plain.subarray(0, take * per));
    seen += plain.length / per;
  };
  if (!cache) {
    await conv5Pass(encoder, train.slice(0, SCALER_IMAGES), size, false, bad, addStats);
    return { scaler: fit.finish(), store: null };
  }
  const store = await FeatureStore.create(cache.path, per);
  try {
    await conv5Pass(encoder, train, size, cache.mirrored, bad, async (plain, mirror) => {
      addStats(plain);
      if (!mirror) return store.append(plain);
      // Image-major rows, so a chunk is one append: plain then mirrored map of each image.
      const rows = new Float32Array(plain.length * 2);
      for (let k = 0; k < plain.length / per; k++) {
        rows.set(plain.subarray(k * per, (k + 1) * per), 2 * k * per);
        rows.set(mirror.subarray(k * per, (k + 1) * per), (2 * k + 1) * per);
      }
      await store.append(rows);
    });
  } catch (err) {
    await store.close();
    throw err;
  }
  return { scaler: fit.finish(), store };
}

interface TrainSetup {
  job: DownstreamJob<DetectionConfig>;
  encoder: TransferEncoder;
  scaler: FeatureScaler;
  /** Frozen: the raw conv5 maps of the training images (trainMaps' rows), and whether mirrored maps are among them. */
  cached: { store: FeatureStore; mirrored: boolean } | null;
  bad: BadSamples;
  head: DetectionHead;
  pooling: RoiPoolOptions;
  train: DetImage[];
  classes: number;
  imagesPerStep: number;
  rng: Rng;
}

/** Runs the configured steps; returns the training loop's seconds. */
async function trainDetector(setup: TrainSetup): Promise<number> {
  const { job, encoder, scaler, cached, bad, head, pooling, train, classes, imagesPerStep, rng } = setup;
  const { config } = job;
  const size = encoder.inputSize;
  const [fh, fw, fc] = encoder.featureShape;
  const canMirror = cached === null || cached.mirrored;

  const optimizer = new TransferOptimizer(head.variables, encoder.trainable, config);
  const sampler = new EpochSampler(train.length, rng.fork('order'));
  const sampleRng = rng.fork('rois');
  const augmentRng = rng.fork('mirror');
  const dropoutRng = rng.fork('dropout');
  // The mirror flags are drawn when a batch is scheduled (in batch order, as the step drew them), so its pixels or rows load ahead.
  const loader = new StreamingBatchLoader(sampler, {
    batchSize: imagesPerStep,
    prefetch: TRAINING_PREFETCH,
    streams: { mirror: augmentRng },
    draw: (indices) => indices.map(() => canMirror && augmentRng.next() < 0.5),
    load: async (indices: number[], mirror: boolean[]) => {
      if (cached) return { indices, mirror, data: await cached.store.read(indices.map((i, b) => (cached.mirrored ? 2 * i + (mirror[b] ? 1 : 0) : i))) };
      const pixels = await mapLimit(indices, imagesPerStep, (i) => netPixels(train[i], size, bad));
      const data = new Float32Array(indices.length * size * size * 3);
      pixels.forEach((p, b) => data.set(mirror[b] ? flipImage(p, size) : p, b * size * size * 3));
      return { indices, mirror, data };
    },
  });
  try {
    const loop = await startTransferLoop(
      job,
      encoder,
      optimizer,
      { variables: head.variables },
      { sampler: loader.samplerStream, rois: sampleRng, mirror: loader.stream('mirror'), dropout: dropoutRng },
      imagesPerStep,
    );
    for (let step = loop.firstStep; step <= config.steps; step++) {
      const { indices, mirror, data } = await loader.next();
      const picked = indices.map((i) => train[i]);
      const batch = buildStepBatch(picked, mirror, classes, size, config.roisPerImage, sampleRng);
      const r = batch.rois.length;
      // Frozen rows are standardised here: the same float32s as standardising the whole cache first.
      const input = cached ? tf.tensor4d(scaler.applyInPlace(data), [picked.length, fh, fw, fc]) : tf.tensor4d(data, [picked.length, size, size, 3]);
      const labels = tf.tidy(() => tf.oneHot(tf.tensor1d(batch.labels, 'int32'), classes + 1).toFloat() as tf.Tensor2D);
      const targets = tf.tensor2d(batch.targets, [r, 4 * classes]);
      const weights = tf.tensor2d(batch.weights, [r, 4 * classes]);
      let loss: number;
      try {
        loss = optimizer.step(() => {
          const maps = cached ? input : (scaler.apply(encoder.model.apply(input, { training: true }) as tf.Tensor) as tf.Tensor4D);
          const out = head.apply(roiPool(maps, batch.rois, pooling), dropoutRng);
          return tf.add(tf.losses.softmaxCrossEntropy(labels, out.scores), smoothL1(out.deltas, targets, weights)) as tf.Scalar;
        }, step);
      } finally {
        tf.dispose([input, labels, targets, weights]);
      }
      await loop.endStep(step, loss);
    }
    return loop.seconds();
  } finally {
    await loader.close();
    optimizer.dispose();
  }
}

/** AP per class with at least one non-difficult test box (the others have none to report). */
async function evaluateDetector(ctx: DetectionContext, classNames: readonly string[], test: DetImage[], method: 'voc07' | 'area', bad: BadSamples): Promise<Record<string, number>> {
  const { classes, size } = ctx;
  const detections: Detection[][] = Array.from({ length: classes }, () => []);
  const truth: TruthBox[][] = Array.from({ length: classes }, () => []);
  const progress = new Progress('detection: test', test.length, Math.max(1, Math.ceil(test.length / 10)));
  const decoded = prefetchEach(test, TEST_PREFETCH, (img) => netPixels(img, size, bad));
  for (const [i, img] of test.entries()) {
    const { probs, deltas } = await scoreProposals(ctx, img, await decoded.next().value!);
    for (const d of imageDetections(img.proposals, probs, deltas, classes, size, img.annotation)) {
      detections[d.cls].push({ image: img.id, score: d.score, box: d.box });
    }
    for (const o of img.annotation.objects) {
      const k = classNames.indexOf(o.name);
      if (k >= 0) truth[k].push({ image: img.id, box: o.box, difficult: o.difficult });
    }
    progress.update(i + 1, '');
  }
  progress.stop();
  const ap: Record<string, number> = {};
  classNames.forEach((name, k) => {
    const value = detectionAP(detections[k], truth[k], { iou: 0.5, method });
    if (!Number.isNaN(value)) ap[name] = value;
  });
  return ap;
}

/** Fast R-CNN's RoI pooling is defined on conv5: detection always reads it. */
const DETECTION_LAYER = 'conv5';

async function detect(job: DownstreamJob<DetectionConfig>, ctx: DownstreamContext) {
  const { config } = job;
  const rng = new Rng(job.seed).fork('detection');
  const dataset = ctx.dataset;
  const classes = dataset.classes.length;
  const proposalFile = config.proposals ? { path: config.proposals, boxes: await loadProposalFile(config.proposals) } : null;
  const encoder = await loadTransferEncoder(job, ctx.protocol!, DETECTION_LAYER, config.inputSize);
  try {
    const size = encoder.inputSize;
    const [fh, fw, fc] = encoder.featureShape;
    const windows = proposalFile ? [] : slidingWindows(size);
    // Images without a non-difficult box give no foreground RoI; Fast R-CNN drops them too.
    const bad = new BadSamples(job.dataset.onBadSample);
    const train = (await loadSplit(dataset, config.trainSplit, config.maxTrainImages, size, proposalFile, windows, bad)).filter((img) => img.truth.length > 0);
    if (train.length === 0) {
      throw new UserError(`${job.dataset.root}: no image of the '${config.trainSplit}' split has a non-difficult object box; detection needs annotated objects`);
    }
    const test = await loadSplit(dataset, config.testSplit, config.maxTestImages, size, proposalFile, windows, bad);
    const imagesPerStep = Math.min(IMAGES_PER_STEP, config.batchSize);
    logLine(
      `detection/${job.protocol} on ${job.method}: ${train.length} train, ${test.length} test images, ${classes} classes, ${size}px, conv5 ${fh}x${fw}x${fc}, ` +
        `${proposalFile ? `proposals from ${proposalFile.path}` : `${windows.length} sliding windows`}, ${imagesPerStep} images x ${config.roisPerImage} RoIs per step (${tf.getBackend()})`,
    );
    if (config.rescale) {
      const calibration = await mapLimit(train.slice(0, 64), 8, (img) => netPixels(img, size, bad));
      calibrateEncoder(encoder, true, concatFloat32(calibration), calibration.length);
    }
    const pooling = { spatialScale: spatialScale(size, fw), pooledSize: POOLED_SIZE };
    const mapBytes = fh * fw * fc * 4 * train.length;
    const mirrored = mapBytes <= MIRROR_FEATURE_BUDGET_BYTES;
    // Both protocols standardise conv5 per channel with the initial encoder's statistics, as the other tasks do.
    const { scaler, store } = await trainMaps(encoder, train, size, bad, encoder.trainsEncoder ? null : { path: join(job.outDir, FEATURE_STORE_FILE), mirrored });
    const cached = store ? { store, mirrored } : null;
    if (cached && !mirrored) logLine(`detection: training without mirroring (mirrored conv5 features would need ${(mapBytes / 2 ** 30).toFixed(1)} GiB)`);
    const head = new DetectionHead(POOLED_SIZE * POOLED_SIZE * fc, config.headWidths, classes, rng.fork('head'));
    try {
      let trainSeconds: number;
      try {
        trainSeconds = await trainDetector({ job, encoder, scaler, cached, bad, head, pooling, train, classes, imagesPerStep, rng });
      } finally {
        await store?.close();
      }
      const ap = await evaluateDetector({ encoder, scaler, pooling, head, size, classes }, dataset.classes, test, config.apMethod, bad);
      const mAP = meanAP(Object.values(ap));
      if (Number.isNaN(mAP)) {
        throw new UserError(`${job.dataset.root}: no image of the '${config.testSplit}' split has a non-difficult object box; detection mAP needs annotated test objects`);
      }
      return { summary: { mAP }, perClass: { AP: ap }, imgPerSec: (config.steps * imagesPerStep) / trainSeconds, skippedSamples: bad.skipped };
    } finally {
      head.dispose();
      scaler.dispose();
    }
  } finally {
    encoder.model.dispose();
  }
}

registerTask<DetectionConfig>({
  name: 'detection',
  description: 'Fast R-CNN on conv5 (RoI max pooling, class scores and box regression): per-class AP, mAP at IoU 0.5',
  config: {
    properties: {
      ...TRANSFER_FIELDS.properties,
      apMethod: { enum: ['voc07', 'area'], default: 'voc07' },
      proposals: {
        type: 'string',
        description: 'A JSON file of proposals per split ({ "<image id>": [[x1,y1,x2,y2], ...] }); built-in multi-scale windows when absent.',
      },
      roisPerImage: { type: 'integer', minimum: 1, default: 64 },
    },
    paths: ['proposals'],
  },
  needs: { boxes: true },
  usesProtocols: true,
  layer: DETECTION_LAYER,
  check: checkOptimizerFields,
  run: detect,
});
