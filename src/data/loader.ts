/**
 * Training batches streamed from disk: each batch's images are decoded,
 * resized and cropped when it is scheduled, a bounded number of batches
 * ahead, so memory holds at most `prefetch` batches whatever the dataset's
 * size. Decoding runs in sharp's (libvips) own thread pool, so it overlaps the
 * training step on the main thread.
 *
 * The order and crops come from the same seeded streams, drawn in the same
 * order, as the in-memory path (loadImageBank + cropBatch): the same seed
 * gives the same batches (with a scale range, each image's crop draws its
 * scale first: scale-augment.ts). Checkpoints save the streams as they were before
 * the first batch not yet consumed, so a resumed run continues with exactly
 * the batches the uninterrupted one would have seen.
 */
import type { Stateful } from '../engine/resumable-loop.js';
import type { Rng, RngState } from '../engine/random.js';
import { EpochSampler, type ImageBank, type SamplerState } from './batches.js';
import { mapLimit } from './concurrency.js';
import { loadImage, probeImage, type FloatImage, type ImageRef } from './image.js';
import type { BadSamples } from './samples.js';
import { copyView, drawView, type ScaledView, type ScaleRange } from './scale-augment.js';

/**
 * The samples a streaming job trains on. Under "skip" every image is decoded
 * once up front, so the set left out (and the seeded order over the rest) is
 * fixed before training, as with images held in memory; under "stop" only
 * headers are read (missing and non-image files stop the job here) and a file
 * that fails to decode later stops the job then, naming it.
 */
export async function readableSources<T extends ImageRef>(sources: readonly T[], bad: BadSamples): Promise<T[]> {
  return (await readableIndices(sources, bad)).map((i) => sources[i]);
}

/** readableSources as indices into `sources`, for data that follows the images (labels). */
export async function readableIndices(sources: readonly ImageRef[], bad: BadSamples): Promise<number[]> {
  const full = bad.policy === 'skip';
  const checked = await bad.map(sources, async (s) => {
    await probeImage(s, full);
    return true;
  });
  return checked.map((c) => c.index);
}

/**
 * Images `indices` of `sources` decoded like the in-memory path (aspect kept,
 * centre square of side `size`), as an ImageBank for cropping views; a file
 * that fails stops the job naming it (`bad`), as in the loader.
 */
export async function decodeChunk(sources: readonly ImageRef[], indices: number[], size: number, bad: BadSamples): Promise<ImageBank> {
  const images = await mapLimit(indices, 8, async (i) => (await decodeSample(sources[i], size, bad)).data);
  return { size, images, refs: indices.map((i) => sources[i]), kept: indices.map((_, k) => k) };
}

function nameOf(ref: ImageRef): string {
  return typeof ref === 'string' ? ref : ref.source;
}

/** Decoded like the in-memory path; under "stop" a file that fails stops the job naming it, under "skip" readableSources decoded every one already. */
async function decodeSample(ref: ImageRef, size: number, bad: BadSamples): Promise<FloatImage> {
  const img = await bad.tryLoad(() => loadImage(ref, { size, fit: 'cover' }));
  if (!img) throw new Error(`${nameOf(ref)}: decoded when the job started, unreadable now`);
  return img;
}

/** Batches a training loop keeps decoding ahead of its step: enough to hide a slow decode, few enough that memory stays small. */
export const TRAINING_PREFETCH = 3;

export interface CropLoaderOptions {
  /** Side each image is resized to (aspect kept, centre cropped) before the random crop. */
  loadSize: number;
  /** Side of the training crop. */
  crop: number;
  batchSize: number;
  /** Batches decoded ahead of the one being trained on. */
  prefetch: number;
  /** Rescale each image by a random factor in this range before cropping (scale-augment.ts); absent: every crop from the loadSize square. */
  scale?: ScaleRange;
}

export interface StreamedBatch {
  /** Index into the samples of each image. */
  indices: number[];
  /** NHWC crops in [-1, 1]. */
  images: Float32Array;
}

interface Scheduled {
  sampler: SamplerState;
  crops: RngState;
  batch: Promise<StreamedBatch>;
}

export class StreamingCropLoader {
  private readonly queue: Scheduled[] = [];
  /** Images being decoded right now, and the most at once so far. */
  private decodedNow = 0;
  private decodedPeak = 0;

  /** The samplers' states as the consumer sees them, for a training checkpoint. */
  readonly samplerStream: Stateful<SamplerState>;
  readonly cropStream: Stateful<RngState>;

  constructor(
    private readonly samples: readonly ImageRef[],
    private readonly opts: CropLoaderOptions,
    private readonly sampler: EpochSampler,
    private readonly crops: Rng,
    private readonly bad: BadSamples,
  ) {
    if (opts.crop > opts.loadSize) throw new Error(`crop ${opts.crop} is larger than the loaded image ${opts.loadSize}`);
    if (!(opts.prefetch >= 1)) throw new Error(`prefetch ${opts.prefetch} must be at least 1`);
    this.samplerStream = {
      getState: () => this.queue[0]?.sampler ?? this.sampler.getState(),
      setState: (state) => {
        this.drop();
        this.sampler.setState(state);
      },
    };
    this.cropStream = {
      getState: () => this.queue[0]?.crops ?? this.crops.getState(),
      setState: (state) => {
        this.drop();
        this.crops.setState(state);
      },
    };
  }

  /** The next batch; schedules the ones after it so they decode while this one trains. */
  async next(): Promise<StreamedBatch> {
    this.fill();
    const head = this.queue.shift() as Scheduled;
    this.fill();
    return head.batch;
  }

  /** Most decoded images held at once so far. */
  get peakDecodedImages(): number {
    return this.decodedPeak;
  }

  /** Batches scheduled ahead right now. */
  get scheduled(): number {
    return this.queue.length;
  }

  private fill(): void {
    while (this.queue.length < this.opts.prefetch) {
      const sampler = this.sampler.getState();
      const crops = this.crops.getState();
      const indices = this.sampler.take(this.opts.batchSize);
      // Without a scale range, the same draws in the same order as cropBatch: offset y, offset x, mirror per image.
      const views = indices.map(() => drawView(this.crops, this.opts.loadSize, this.opts.crop, this.opts.scale));
      const batch = this.decode(indices, views);
      // Rejections surface when the batch is consumed; until then the promise must not count as unhandled.
      batch.catch(() => undefined);
      this.queue.push({ sampler, crops, batch });
    }
  }

  /** Waits for the batches still decoding, so no work outlives the job; their results are dropped. */
  async close(): Promise<void> {
    const pending = this.queue.map((q) => q.batch.catch(() => undefined));
    this.drop();
    await Promise.all(pending);
  }

  /** Forgets scheduled batches (after a restore): their decodes finish unobserved. */
  private drop(): void {
    this.queue.length = 0;
  }

  private async decode(indices: number[], views: ScaledView[]): Promise<StreamedBatch> {
    const { crop } = this.opts;
    const per = crop * crop * 3;
    const images = new Float32Array(indices.length * per);
    await Promise.all(
      indices.map(async (index, b) => {
        this.count(1);
        try {
          // Each image is decoded at its view's scale (the loadSize square without a range).
          const full = await decodeSample(this.samples[index], views[b].side, this.bad);
          copyView(full.data, views[b], crop, images, b * per);
        } finally {
          this.count(-1);
        }
      }),
    );
    return { indices, images };
  }

  private count(delta: number): void {
    this.decodedNow += delta;
    this.decodedPeak = Math.max(this.decodedPeak, this.decodedNow);
  }
}
