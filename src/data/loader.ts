/**
 * Training batches streamed from disk: each batch's images are decoded,
 * resized and cropped when it is scheduled, a bounded number of batches
 * ahead, so memory holds at most `prefetch` batches whatever the dataset's
 * size (plus the decoded-image cache's bounded pixels of images read more
 * than once: decoded-cache.ts). Decoding runs in sharp's (libvips) own thread
 * pool, so it overlaps the training step on the main thread.
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

/** readableSources as indices into `sources`, for data that follows the images (labels); `fullCheck` replaces the full decode under "skip". */
export async function readableIndices<T extends ImageRef>(sources: readonly T[], bad: BadSamples, fullCheck: (source: T) => Promise<unknown> = (s) => probeImage(s, true)): Promise<number[]> {
  // `fullCheck` reads all of a sample under "skip" (a task with label maps reads those too); "stop" reads headers only.
  const checked = await bad.map(sources, async (s) => {
    await (bad.policy === 'skip' ? fullCheck(s) : probeImage(s, false));
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
function decodeSample(ref: ImageRef, size: number, bad: BadSamples): Promise<FloatImage> {
  return readAgain(ref, bad, () => loadImage(ref, { size, fit: 'cover' }));
}

/**
 * `read()` of a sample that passed readableIndices, when a batch needs it:
 * under "stop" a failure stops the job naming the file (BadSamples' message);
 * under "skip" every sample left was read whole when the job started, so a
 * failure now means the file changed since, and the job stops rather than
 * train on a set that differs from the one fixed up front.
 */
export async function readAgain<R>(ref: ImageRef, bad: BadSamples, read: () => Promise<R>): Promise<R> {
  const value = await bad.tryLoad(read);
  if (value === undefined) throw new Error(`${nameOf(ref)}: decoded when the job started, unreadable now`);
  return value;
}

/** Batches a training loop keeps decoding ahead of its step: enough to hide a slow decode, few enough that memory stays small. */
export const TRAINING_PREFETCH = 3;

/**
 * Seeded batches of any kind, loaded a bounded number ahead: the sampler
 * picks each batch's indices and `draw` takes its other random draws (crops,
 * mirrors) when the batch is scheduled, in batch order, so the draws are
 * those of a loop that loads each batch when it trains on it; `load` then
 * reads the batch from disk (images, label maps, cached feature rows) while
 * earlier batches train. Memory holds at most `prefetch` batches. The
 * streams' states saved in a checkpoint are those before the first batch not
 * yet consumed, so a resumed run continues with exactly the batches the
 * uninterrupted one would have seen.
 */
export interface BatchLoaderOptions<D, B> {
  batchSize: number;
  /** Batches loaded ahead of the one being trained on. */
  prefetch: number;
  /** Streams besides the sampler that `draw` takes from, by their checkpoint names. */
  streams?: Record<string, Stateful>;
  /** The batch's draws from `streams`, taken when it is scheduled. */
  draw?: (indices: number[]) => D;
  load: (indices: number[], draws: D) => Promise<B>;
}

interface Scheduled<B> {
  sampler: SamplerState;
  /** States of the other streams before this batch's draws, by name. */
  streams: Record<string, unknown>;
  batch: Promise<B>;
}

export class StreamingBatchLoader<D, B> {
  private readonly queue: Scheduled<B>[] = [];
  private readonly streams: Record<string, Stateful>;

  /** The sampler's state as the consumer sees it, for a training checkpoint. */
  readonly samplerStream: Stateful<SamplerState>;

  constructor(
    private readonly sampler: EpochSampler,
    private readonly opts: BatchLoaderOptions<D, B>,
  ) {
    if (!(opts.prefetch >= 1)) throw new Error(`prefetch ${opts.prefetch} must be at least 1`);
    this.streams = opts.streams ?? {};
    this.samplerStream = {
      getState: () => this.queue[0]?.sampler ?? this.sampler.getState(),
      setState: (state) => {
        this.drop();
        this.sampler.setState(state);
      },
    };
  }

  /** Stream `name` (of the options' streams) as the consumer sees it, for a training checkpoint. */
  stream(name: string): Stateful {
    const inner = this.streams[name];
    if (!inner) throw new Error(`batch loader: no stream "${name}"`);
    return {
      getState: () => (this.queue.length > 0 ? this.queue[0].streams[name] : inner.getState()),
      setState: (state) => {
        this.drop();
        inner.setState(state);
      },
    };
  }

  /** The next batch; schedules the ones after it so they load while this one trains. */
  async next(): Promise<B> {
    this.fill();
    const head = this.queue.shift() as Scheduled<B>;
    this.fill();
    return head.batch;
  }

  /** Batches scheduled ahead right now. */
  get scheduled(): number {
    return this.queue.length;
  }

  private fill(): void {
    while (this.queue.length < this.opts.prefetch) {
      const sampler = this.sampler.getState();
      const streams = Object.fromEntries(Object.entries(this.streams).map(([name, s]) => [name, s.getState()]));
      const indices = this.sampler.take(this.opts.batchSize);
      const draws = this.opts.draw ? this.opts.draw(indices) : (undefined as D);
      const batch = this.opts.load(indices, draws);
      // Rejections surface when the batch is consumed; until then the promise must not count as unhandled.
      batch.catch(() => undefined);
      this.queue.push({ sampler, streams, batch });
    }
  }

  /** Waits for the batches still loading, so no work outlives the job; their results are dropped. */
  async close(): Promise<void> {
    const pending = this.queue.map((q) => q.batch.catch(() => undefined));
    this.drop();
    await Promise.all(pending);
  }

  /** Forgets scheduled batches (after a restore): their loads finish unobserved. */
  private drop(): void {
    this.queue.length = 0;
  }
}

/**
 * `load` of each item in order, at most `ahead` started beyond the one being
 * consumed, for passes that visit every item once (testing, feature passes).
 * Yields promises: a failure surfaces when its item is awaited, so a caller's
 * BadSamples records skips in item order, as a sequential loop would; loads
 * of a pass left early finish unobserved.
 */
export function* prefetchEach<T, R>(items: readonly T[], ahead: number, load: (item: T, index: number) => Promise<R>): Generator<Promise<R>> {
  const pending: Promise<R>[] = [];
  let started = 0;
  while (started < items.length || pending.length > 0) {
    while (started < items.length && pending.length <= ahead) {
      const p = load(items[started], started);
      p.catch(() => undefined);
      pending.push(p);
      started++;
    }
    yield pending.shift() as Promise<R>;
  }
}

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

/** Random crops (and mirrors) of images decoded per batch: a StreamingBatchLoader whose draws are the crops' views. */
export class StreamingCropLoader {
  private readonly batches: StreamingBatchLoader<ScaledView[], StreamedBatch>;
  private readonly decoded = new DecodeCounter();

  /** The samplers' states as the consumer sees them, for a training checkpoint. */
  readonly samplerStream: Stateful<SamplerState>;
  readonly cropStream: Stateful<RngState>;

  constructor(
    private readonly samples: readonly ImageRef[],
    private readonly opts: CropLoaderOptions,
    sampler: EpochSampler,
    crops: Rng,
    private readonly bad: BadSamples,
  ) {
    if (opts.crop > opts.loadSize) throw new Error(`crop ${opts.crop} is larger than the loaded image ${opts.loadSize}`);
    this.batches = new StreamingBatchLoader(sampler, {
      batchSize: opts.batchSize,
      prefetch: opts.prefetch,
      streams: { crops },
      // Without a scale range, the same draws in the same order as cropBatch: offset y, offset x, mirror per image.
      draw: (indices) => indices.map(() => drawView(crops, opts.loadSize, opts.crop, opts.scale)),
      load: (indices, views) => this.decode(indices, views),
    });
    this.samplerStream = this.batches.samplerStream;
    this.cropStream = this.batches.stream('crops') as Stateful<RngState>;
  }

  /** The next batch; schedules the ones after it so they decode while this one trains. */
  next(): Promise<StreamedBatch> {
    return this.batches.next();
  }

  /** Most decoded images held at once so far. */
  get peakDecodedImages(): number {
    return this.decoded.peak;
  }

  /** Batches scheduled ahead right now. */
  get scheduled(): number {
    return this.batches.scheduled;
  }

  /** Waits for the batches still decoding, so no work outlives the job; their results are dropped. */
  close(): Promise<void> {
    return this.batches.close();
  }

  private async decode(indices: number[], views: ScaledView[]): Promise<StreamedBatch> {
    const { crop } = this.opts;
    const per = crop * crop * 3;
    const images = new Float32Array(indices.length * per);
    await Promise.all(
      indices.map((index, b) =>
        this.decoded.during(async () => {
          // Each image is decoded at its view's scale (the loadSize square without a range).
          const full = await decodeSample(this.samples[index], views[b].side, this.bad);
          copyView(full.data, views[b], crop, images, b * per);
        }),
      ),
    );
    return { indices, images };
  }
}

/** Decodes running at once, and the most so far: what a test reads to check that memory is bounded. */
export class DecodeCounter {
  private now = 0;
  private most = 0;
  /** Decodes started in all. */
  total = 0;

  get peak(): number {
    return this.most;
  }

  async during<R>(work: () => Promise<R>): Promise<R> {
    this.now++;
    this.total++;
    this.most = Math.max(this.most, this.now);
    try {
      return await work();
    } finally {
      this.now--;
    }
  }
}
