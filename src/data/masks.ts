/**
 * Hole masks for the context-encoder pretext task (paper section 3.3): the
 * central block, random blocks, and random regions shaped like VOC objects.
 * The network predicts the hole plus a band of overlapPx around it; the band
 * stays visible in the input and its loss is weighted OVERLAP_WEIGHT times.
 */
import type { Rng } from '../engine/random.js';
import { UserError } from '../errors.js';
import { DATASET_MEAN_RGB } from './image.js';
import { VOID_LABEL } from './palette.js';
import { BadSamples } from './samples.js';
import type { SampleRef } from './formats/types.js';

export type MaskKind = 'center' | 'random-block' | 'random-region';

export interface MaskOptions {
  kind: MaskKind;
  /** Fraction of the image area to hide; default 0.25. */
  holeFraction?: number;
  /** Width of the visible, up-weighted band around the hole; default 4. */
  overlapPx?: number;
  /** Binary object masks (shapeSize x shapeSize) to draw random-region holes from; generated blobs otherwise. */
  shapes?: Uint8Array[];
  shapeSize?: number;
}

/** size x size, row-major. fill = 1 where the input shows the mean colour; weight = per-pixel loss weight. */
export interface Mask {
  size: number;
  fill: Float32Array;
  weight: Float32Array;
}

/** The reference code's weight on the overlap band (wtl2 overlap factor). */
export const OVERLAP_WEIGHT = 10;

const DEFAULT_HOLE_FRACTION = 0.25;
const DEFAULT_OVERLAP_PX = 4;
const GENERATED_SHAPE_SIZE = 64;

export function makeMask(size: number, rng: Rng, opts: MaskOptions): Mask {
  const holeFraction = opts.holeFraction ?? DEFAULT_HOLE_FRACTION;
  const overlapPx = opts.overlapPx ?? DEFAULT_OVERLAP_PX;
  if (!(holeFraction > 0 && holeFraction < 1)) {
    throw new UserError(`masks.holeFraction: ${holeFraction} must be between 0 and 1 (exclusive)`);
  }
  if (!(Number.isInteger(overlapPx) && overlapPx >= 0)) {
    throw new UserError(`masks.overlapPx: ${overlapPx} must be a non-negative integer`);
  }
  switch (opts.kind) {
    case 'center':
      return centerMask(size, holeFraction, overlapPx);
    case 'random-block':
      return withBand(size, randomBlocks(size, rng, holeFraction), overlapPx);
    case 'random-region':
      return withBand(size, randomRegions(size, rng, holeFraction, opts), overlapPx);
    default:
      throw new UserError(`masks.kind: unknown '${String(opts.kind)}'; use center, random-block or random-region`);
  }
}

/** The autoencoder's "mask": nothing hidden, every pixel weighted 1. */
export function fullImageMask(size: number): Mask {
  return { size, fill: new Float32Array(size * size), weight: new Float32Array(size * size).fill(1) };
}

/**
 * The autoencoder's "mask" for a generator that predicts only the centre
 * square of half the side: nothing hidden, every pixel of that square
 * weighted 1 (the centre mask's predicted region at holeFraction 0.25), the
 * rest 0.
 */
export function centreRegionMask(size: number): Mask {
  const { weight } = centerMask(size, DEFAULT_HOLE_FRACTION, 0);
  return { size, fill: new Float32Array(size * size), weight };
}

/** A copy of an HWC image in [-1, 1] with the hole set to the dataset mean colour. */
export function applyMask(image: Float32Array, mask: Mask): Float32Array {
  const n = mask.size * mask.size;
  if (image.length !== n * 3) {
    throw new Error(`applyMask: image has ${image.length} values, mask is ${mask.size}x${mask.size}x3`);
  }
  const mean = DATASET_MEAN_RGB.map((c) => (2 * c) / 255 - 1);
  const out = Float32Array.from(image);
  for (let i = 0; i < n; i++) {
    if (mask.fill[i] === 1) {
      out[i * 3] = mean[0];
      out[i * 3 + 1] = mean[1];
      out[i * 3 + 2] = mean[2];
    }
  }
  return out;
}

/**
 * Predicted region = the centre square covering holeFraction of the area (side
 * size/2 at 0.25); the hole is that square shrunk by overlapPx on each side,
 * as in the reference train.lua.
 */
function centerMask(size: number, holeFraction: number, overlapPx: number): Mask {
  const side = Math.floor(size * Math.sqrt(holeFraction) + 1e-9);
  if (side - 2 * overlapPx < 1) {
    throw new UserError(
      `masks.overlapPx: ${overlapPx} leaves no hole in the ${side} px centre region of a ${size} px image; use overlapPx < ${Math.ceil(side / 2)}`,
    );
  }
  const start = Math.floor((size - side) / 2);
  const fill = new Float32Array(size * size);
  const weight = new Float32Array(size * size);
  for (let y = start; y < start + side; y++) {
    for (let x = start; x < start + side; x++) {
      const inner =
        y >= start + overlapPx && y < start + side - overlapPx && x >= start + overlapPx && x < start + side - overlapPx;
      fill[y * size + x] = inner ? 1 : 0;
      weight[y * size + x] = inner ? 1 : OVERLAP_WEIGHT;
    }
  }
  return { size, fill, weight };
}

/** Square-neighbourhood (Chebyshev) dilation, separable: rows then columns. */
function dilate(bits: Uint8Array, size: number, r: number): Uint8Array {
  if (r === 0) return Uint8Array.from(bits);
  const rows = new Uint8Array(size * size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      if (!bits[y * size + x]) continue;
      const lo = Math.max(0, x - r);
      const hi = Math.min(size - 1, x + r);
      rows.fill(1, y * size + lo, y * size + hi + 1);
    }
  }
  const out = new Uint8Array(size * size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      if (!rows[y * size + x]) continue;
      const lo = Math.max(0, y - r);
      const hi = Math.min(size - 1, y + r);
      for (let yy = lo; yy <= hi; yy++) out[yy * size + x] = 1;
    }
  }
  return out;
}

function withBand(size: number, hole: Uint8Array, overlapPx: number): Mask {
  const grown = dilate(hole, size, overlapPx);
  const fill = new Float32Array(size * size);
  const weight = new Float32Array(size * size);
  for (let i = 0; i < size * size; i++) {
    fill[i] = hole[i];
    weight[i] = hole[i] ? 1 : grown[i] ? OVERLAP_WEIGHT : 0;
  }
  return { size, fill, weight };
}

/** Smallest piece worth adding; the hole ends within this many pixels below its target. */
function minPiece(size: number): number {
  return Math.max(1, Math.round(size * 0.08));
}

/** Several smaller, possibly overlapping rectangles whose union reaches about holeFraction, never more. */
function randomBlocks(size: number, rng: Rng, holeFraction: number): Uint8Array {
  const hole = new Uint8Array(size * size);
  const target = Math.floor(holeFraction * size * size);
  const lo = minPiece(size);
  const hi = Math.max(lo, Math.round(size * 0.3));
  let covered = 0;
  for (let attempt = 0; attempt < 200; attempt++) {
    const remaining = target - covered;
    if (remaining < lo * lo) break;
    let w = lo + rng.int(hi - lo + 1);
    let h = lo + rng.int(hi - lo + 1);
    if (w * h > remaining) {
      const shrink = Math.sqrt(remaining / (w * h));
      w = Math.max(1, Math.floor(w * shrink));
      h = Math.max(1, Math.floor(h * shrink));
    }
    const x0 = rng.int(size - w + 1);
    const y0 = rng.int(size - h + 1);
    for (let y = y0; y < y0 + h; y++) {
      for (let x = x0; x < x0 + w; x++) {
        if (!hole[y * size + x]) {
          hole[y * size + x] = 1;
          covered++;
        }
      }
    }
  }
  return hole;
}

interface Shape {
  bits: Uint8Array;
  side: number;
  /** Bounding box of the set pixels, inclusive. */
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  area: number;
}

function toShape(bits: Uint8Array, side: number): Shape | null {
  let x0 = side;
  let y0 = side;
  let x1 = -1;
  let y1 = -1;
  let area = 0;
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      if (!bits[y * side + x]) continue;
      area++;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
  }
  return area === 0 ? null : { bits, side, x0, y0, x1, y1, area };
}

/** A blob: the union of two to four ellipses. */
function generatedShape(rng: Rng): Shape {
  const s = GENERATED_SHAPE_SIZE;
  const bits = new Uint8Array(s * s);
  const parts = 2 + rng.int(3);
  for (let p = 0; p < parts; p++) {
    const cx = s * rng.uniform(0.3, 0.7);
    const cy = s * rng.uniform(0.3, 0.7);
    const ra = s * rng.uniform(0.1, 0.3);
    const rb = s * rng.uniform(0.1, 0.3);
    const t = rng.uniform(0, Math.PI);
    const c = Math.cos(t);
    const sn = Math.sin(t);
    for (let y = 0; y < s; y++) {
      for (let x = 0; x < s; x++) {
        const dx = x + 0.5 - cx;
        const dy = y + 0.5 - cy;
        const u = (dx * c + dy * sn) / ra;
        const v = (-dx * sn + dy * c) / rb;
        if (u * u + v * v <= 1) bits[y * s + x] = 1;
      }
    }
  }
  return toShape(bits, s) as Shape;
}

/** Bounding boxes of a shape list, computed once per list: a training run draws thousands of masks from one. */
const shapePools = new WeakMap<Uint8Array[], Shape[]>();

function shapePool(shapes: Uint8Array[], shapeSize?: number): Shape[] {
  const cached = shapePools.get(shapes);
  if (cached) return cached;
  const side = shapeSize ?? Math.round(Math.sqrt(shapes[0].length));
  const pool: Shape[] = [];
  for (const bits of shapes) {
    if (bits.length !== side * side) {
      throw new Error(`random-region shapes must be ${side}x${side}; got ${bits.length} values`);
    }
    const shape = toShape(bits, side);
    if (shape) pool.push(shape);
  }
  shapePools.set(shapes, pool);
  return pool;
}

/**
 * Object-shaped holes: shapes scaled (with some aspect change), mirrored and
 * placed at random until about holeFraction of the area is covered; a
 * placement that would exceed it is rejected.
 */
function randomRegions(size: number, rng: Rng, holeFraction: number, opts: MaskOptions): Uint8Array {
  const pool = opts.shapes && opts.shapes.length > 0 ? shapePool(opts.shapes, opts.shapeSize) : [];
  const generate = pool.length === 0;
  const hole = new Uint8Array(size * size);
  const target = Math.floor(holeFraction * size * size);
  const lo = minPiece(size);
  let covered = 0;
  for (let attempt = 0; attempt < 100; attempt++) {
    const remaining = target - covered;
    if (remaining < lo * lo) break;
    const shape = generate ? generatedShape(rng) : rng.pick(pool);
    const scale = Math.sqrt((remaining * rng.uniform(0.4, 1)) / shape.area);
    const stretch = Math.exp(rng.uniform(-0.25, 0.25));
    const bw = shape.x1 - shape.x0 + 1;
    const bh = shape.y1 - shape.y0 + 1;
    const w = Math.min(size, Math.max(1, Math.round(bw * scale * stretch)));
    const h = Math.min(size, Math.max(1, Math.round((bh * scale) / stretch)));
    const mirror = rng.next() < 0.5;
    const ox = rng.int(size - w + 1);
    const oy = rng.int(size - h + 1);
    const placed: number[] = [];
    for (let y = 0; y < h; y++) {
      const sy = shape.y0 + Math.min(bh - 1, Math.floor(((y + 0.5) * bh) / h));
      for (let x = 0; x < w; x++) {
        const fx = Math.min(bw - 1, Math.floor(((x + 0.5) * bw) / w));
        const sx = shape.x0 + (mirror ? bw - 1 - fx : fx);
        const i = (oy + y) * size + ox + x;
        if (shape.bits[sy * shape.side + sx] && !hole[i]) placed.push(i);
      }
    }
    if (covered + placed.length > target) continue;
    for (const i of placed) hole[i] = 1;
    covered += placed.length;
  }
  return hole;
}

/**
 * Binary object masks from VOC segmentations for random-region holes: one per
 * class present in an image (void excluded), cropped to its bounding box and
 * fitted, aspect kept, into size x size. Objects under 1% of their image are
 * skipped: they make specks, not shapes.
 */
export async function segmentationShapes(
  samples: readonly SampleRef[],
  size: number,
  max = Infinity,
  bad = new BadSamples(),
): Promise<Uint8Array[]> {
  const shapes: Uint8Array[] = [];
  for (const sample of samples) {
    if (shapes.length >= max) break;
    if (!sample.labelMap) continue;
    const labelMap = sample.labelMap.bind(sample);
    const seg = await bad.tryLoad(labelMap);
    if (!seg) continue;
    const { width, height, data: labels } = seg;
    const present = new Set<number>();
    for (let i = 0; i < labels.length; i++) {
      if (labels[i] !== 0 && labels[i] !== VOID_LABEL) present.add(labels[i]);
    }
    for (const label of [...present].sort((a, b) => a - b)) {
      if (shapes.length >= max) break;
      const shape = fitLabel(labels, width, height, label, size);
      if (shape) shapes.push(shape);
    }
  }
  return shapes;
}

function fitLabel(labels: Uint8Array, width: number, height: number, label: number, size: number): Uint8Array | null {
  let x0 = width;
  let y0 = height;
  let x1 = -1;
  let y1 = -1;
  let area = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (labels[y * width + x] !== label) continue;
      area++;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
  }
  if (area < 0.01 * width * height) return null;
  const bw = x1 - x0 + 1;
  const bh = y1 - y0 + 1;
  const scale = size / Math.max(bw, bh);
  const w = Math.max(1, Math.round(bw * scale));
  const h = Math.max(1, Math.round(bh * scale));
  const ox = Math.floor((size - w) / 2);
  const oy = Math.floor((size - h) / 2);
  const out = new Uint8Array(size * size);
  for (let y = 0; y < h; y++) {
    const sy = y0 + Math.min(bh - 1, Math.floor((y + 0.5) / scale));
    for (let x = 0; x < w; x++) {
      const sx = x0 + Math.min(bw - 1, Math.floor((x + 0.5) / scale));
      out[(oy + y) * size + ox + x] = labels[sy * width + sx] === label ? 1 : 0;
    }
  }
  return out;
}
