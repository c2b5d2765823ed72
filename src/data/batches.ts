/**
 * Training images held in memory as Float32 NHWC in [-1, 1], and seeded
 * mini-batches cut from them (random crop + mirror, as the reference code's
 * loadSize -> fineSize crops).
 */
import { UserError } from '../errors.js';
import type { Rng, RngState } from '../engine/random.js';
import { mapLimit } from './concurrency.js';
import { loadImage, type Fit, type ImageRef } from './image.js';
import { BadSamples } from './samples.js';

export interface ImageBank {
  /** Side of every stored image. */
  size: number;
  /** One HWC Float32Array (size*size*3) per image. */
  images: Float32Array[];
  /** Path or sample of each stored image. */
  refs: ImageRef[];
  /** Index in the requested paths of each loaded image (all of them unless bad samples were skipped). */
  kept: number[];
}

export { mapLimit };

/**
 * Loads images as size x size squares: 'cover' keeps the aspect and crops the
 * centre, 'resize' stretches. An unreadable image stops the job, or is left
 * out when `bad` skips.
 */
export async function loadImageBank(refs: readonly ImageRef[], size: number, fit: Fit = 'cover', bad = new BadSamples()): Promise<ImageBank> {
  if (refs.length === 0) throw new UserError('no images to load: the dataset split is empty');
  const loaded = await bad.map(refs, async (r) => (await loadImage(r, { size, fit })).data);
  if (loaded.length === 0) {
    const first = typeof refs[0] === 'string' ? refs[0] : refs[0].source;
    throw new UserError(`no readable image among the ${refs.length} listed (${first}, ...): every one was skipped as bad`);
  }
  return { size, images: loaded.map((l) => l.value), refs: loaded.map((l) => refs[l.index]), kept: loaded.map((l) => l.index) };
}

/** Concatenates the chosen images into one NHWC buffer. */
export function stackImages(images: Float32Array[], indices: number[]): Float32Array {
  const per = images[0]?.length ?? 0;
  const out = new Float32Array(indices.length * per);
  indices.forEach((i, b) => out.set(images[i], b * per));
  return out;
}

/** Where a crop starts in a stored image, and whether it is mirrored. */
export interface CropView {
  y: number;
  x: number;
  mirror: boolean;
}

/** Copies crop `views[b]` (side `crop`) of image `indices[b]` into one NHWC buffer. */
export function cropViews(bank: ImageBank, indices: number[], crop: number, views: CropView[]): Float32Array {
  const { size } = bank;
  if (crop > size) throw new Error(`crop ${crop} is larger than the stored image ${size}`);
  const out = new Float32Array(indices.length * crop * crop * 3);
  indices.forEach((idx, b) => {
    const src = bank.images[idx];
    const { y: oy, x: ox, mirror } = views[b];
    const base = b * crop * crop * 3;
    for (let y = 0; y < crop; y++) {
      for (let x = 0; x < crop; x++) {
        const sx = mirror ? ox + crop - 1 - x : ox + x;
        const s = ((oy + y) * size + sx) * 3;
        const d = base + (y * crop + x) * 3;
        out[d] = src[s];
        out[d + 1] = src[s + 1];
        out[d + 2] = src[s + 2];
      }
    }
  });
  return out;
}

/**
 * A crop of side `crop` from each chosen image: with rng, a random offset and
 * mirror per image (training); without, the centre crop.
 */
export function cropBatch(bank: ImageBank, indices: number[], crop: number, rng: Rng | null): Float32Array {
  const room = bank.size - crop + 1;
  const views = indices.map(() =>
    rng ? { y: rng.int(room), x: rng.int(room), mirror: rng.next() < 0.5 } : { y: (room - 1) >> 1, x: (room - 1) >> 1, mirror: false },
  );
  return cropViews(bank, indices, crop, views);
}

export interface SamplerState {
  order: number[];
  pos: number;
  rng: RngState;
}

/** An endless seeded sequence of shuffled epochs over n items. */
export class EpochSampler {
  private order: number[] = [];
  private pos = 0;

  constructor(private readonly n: number, private readonly rng: Rng) {}

  getState(): SamplerState {
    return { order: [...this.order], pos: this.pos, rng: this.rng.getState() };
  }

  setState(state: SamplerState): void {
    this.order = [...state.order];
    this.pos = state.pos;
    this.rng.setState(state.rng);
  }

  take(count: number): number[] {
    const out: number[] = [];
    while (out.length < count) {
      if (this.pos >= this.order.length) {
        this.order = this.rng.shuffle(Array.from({ length: this.n }, (_, i) => i));
        this.pos = 0;
      }
      out.push(this.order[this.pos++]);
    }
    return out;
  }
}
