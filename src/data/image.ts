/**
 * Image decoding for every dataset: sharp decodes, crops and resizes; pixels
 * leave here as Float32 HWC (NHWC once batched) RGB in [-1, 1].
 *
 * Images are not auto-rotated from EXIF orientation: VOC box coordinates refer
 * to the stored pixel grid, and every loader here must agree on that grid.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import sharp, { type Metadata, type OutputInfo, type Sharp } from 'sharp';
import { UserError } from '../errors.js';
import { writeFileAtomic } from '../fs/atomic.js';
import { letterbox, type Letterbox } from './geometry.js';
import { DecodedImageCache, imageCacheBudget } from './decoded-cache.js';

/** 0..255; the reference code's hole fill. */
export const DATASET_MEAN_RGB = [117, 104, 123];

export interface FloatImage {
  data: Float32Array;
  height: number;
  width: number;
  channels: 3;
}

export type Fit = 'resize' | 'center-crop' | 'cover';

/** An image as a dataset hands it out: a file path, encoded bytes (JPEG/PNG), or raw 8-bit RGB pixels (HWC). */
export type ImageData = string | Buffer | { data: Uint8Array; width: number; height: number; channels: 3 };

/** An image that is read on demand; `source` (a file, or file#index) names it in error messages. */
export interface ImageSource {
  source: string;
  image(): Promise<ImageData>;
}

/** A path, or a dataset's sample. */
export type ImageRef = string | ImageSource;

function sourceOf(ref: ImageRef): string {
  return typeof ref === 'string' ? ref : ref.source;
}

/** What `ref` hands out: a path, encoded bytes or raw pixels. */
async function imageDataOf(ref: ImageRef): Promise<ImageData> {
  return typeof ref === 'string' ? ref : ref.image();
}

/** An image's encoded bytes or raw pixels, read now. */
type Input = Exclude<ImageData, string>;

/** A file that cannot be read is a UserError naming it. */
async function readInput(ref: ImageRef): Promise<Input> {
  const input = await imageDataOf(ref);
  if (typeof input !== 'string') return input;
  try {
    return await readFile(input);
  } catch (err) {
    throw unreadable(sourceOf(ref), err);
  }
}

function sharpOf(input: Input): Sharp {
  if (Buffer.isBuffer(input)) return sharp(input);
  return sharp(input.data, { raw: { width: input.width, height: input.height, channels: input.channels } });
}

/** sharp on a file reads only what it needs (a header, for a size check). */
async function openImage(ref: ImageRef): Promise<Sharp> {
  const input = await imageDataOf(ref);
  return typeof input === 'string' ? sharp(input) : sharpOf(input);
}

let cache: DecodedImageCache<DecodedPixels> | null = null;

/** This process's decoded-image cache (decoded-cache.ts), made on first use with BENCH_IMAGE_CACHE_MB's budget. */
export function decodedImageCache(): DecodedImageCache<DecodedPixels> {
  cache ??= new DecodedImageCache<DecodedPixels>(imageCacheBudget());
  return cache;
}

/** `input` decoded the `variant` way by `decode`, from the cache when it holds it. */
function cachedDecode(input: Input, variant: string, decode: (image: Sharp) => Promise<DecodedPixels>): Promise<DecodedPixels> {
  const content = Buffer.isBuffer(input) ? input : input.data;
  // Raw pixels carry their shape outside the bytes.
  const shape = Buffer.isBuffer(input) ? '' : `${input.width}x${input.height}:`;
  return decodedImageCache().get(DecodedImageCache.key(content, shape + variant), () => decode(sharpOf(input)));
}

/** libvips messages span lines; errors here are one line. */
function describe(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).replace(/\s+/g, ' ').trim();
}

function unreadable(path: string, err: unknown): UserError {
  if (path.length > 0 && !path.includes('#') && !existsSync(path)) return new UserError(`${path}: image file not found; restore it, or remove it from the dataset's listing`);
  return new UserError(`${path}: cannot decode the image (${describe(err)}); expected a readable JPEG or PNG`);
}

/** 8-bit RGB pixels as sharp decoded them, and where a letterboxed image landed. */
export interface DecodedPixels {
  data: Uint8Array;
  height: number;
  width: number;
  box?: Letterbox;
}

async function decodePixels(pipeline: Sharp, path: string): Promise<DecodedPixels> {
  let result: { data: Buffer; info: OutputInfo };
  try {
    result = await pipeline
      .removeAlpha()
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw unreadable(path, err);
  }
  const { data, info } = result;
  if (info.channels !== 3) {
    throw new Error(`${path}: decoder gave ${info.channels} channels, expected 3`);
  }
  return { data, height: info.height, width: info.width };
}

function toFloat(pixels: DecodedPixels): FloatImage {
  const { data } = pixels;
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = data[i] / 127.5 - 1;
  return { data: out, height: pixels.height, width: pixels.width, channels: 3 };
}

async function decodeToFloat(pipeline: Sharp, path: string): Promise<FloatImage> {
  return toFloat(await decodePixels(pipeline, path));
}

export async function loadImage(ref: ImageRef, opts: { size: number; fit?: Fit }): Promise<FloatImage> {
  const fit = opts.fit ?? 'resize';
  const path = sourceOf(ref);
  const pixels = await cachedDecode(await readInput(ref), `${fit}:${opts.size}`, (image) =>
    decodePixels(image.resize(opts.size, opts.size, { fit: fit === 'resize' ? 'fill' : 'cover', position: 'centre' }), path),
  );
  return toFloat(pixels);
}

/**
 * The whole image in a size x size square, aspect kept, centred, padded with
 * the dataset mean colour (about 0 in [-1, 1]); `box` says where it landed.
 */
export async function loadImageLetterboxed(ref: ImageRef, size: number): Promise<{ image: FloatImage; box: Letterbox }> {
  const path = sourceOf(ref);
  const pixels = await cachedDecode(await readInput(ref), `letterbox:${size}`, async (image) => {
    const { width, height } = await sizeOf(image, path);
    const box = letterbox(width, height, size);
    const [r, g, b] = DATASET_MEAN_RGB;
    const pipeline = image.resize(box.contentWidth, box.contentHeight, { fit: 'fill' }).extend({
      left: box.left,
      top: box.top,
      right: size - box.contentWidth - box.left,
      bottom: size - box.contentHeight - box.top,
      background: { r, g, b },
    });
    return { ...(await decodePixels(pipeline, path)), box };
  });
  return { image: toFloat(pixels), box: pixels.box! };
}

/**
 * A UserError when the image cannot be read: `full` decodes all of it (a
 * header read would miss a truncated file), otherwise only the header is read.
 */
export async function probeImage(ref: ImageRef, full: boolean): Promise<void> {
  if (full) await checkImage(ref);
  else await refSize(ref);
}

async function sizeOf(image: Sharp, path: string): Promise<{ width: number; height: number }> {
  let meta: Metadata;
  try {
    meta = await image.metadata();
  } catch (err) {
    throw unreadable(path, err);
  }
  if (!meta.width || !meta.height) throw new UserError(`${path}: the image has no size; expected a readable JPEG or PNG`);
  return { width: meta.width, height: meta.height };
}

async function refSize(ref: ImageRef): Promise<{ width: number; height: number }> {
  return sizeOf(await openImage(ref), sourceOf(ref));
}

/** `box` is 0-based inclusive [x1, y1, x2, y2]; it is clipped to the image. */
export async function loadImageRegion(
  path: string,
  box: [number, number, number, number],
  size: number,
): Promise<FloatImage> {
  const { width, height } = await imageSize(path);
  const x1 = Math.min(Math.max(Math.floor(box[0]), 0), width - 1);
  const y1 = Math.min(Math.max(Math.floor(box[1]), 0), height - 1);
  const x2 = Math.min(Math.max(Math.ceil(box[2]), x1), width - 1);
  const y2 = Math.min(Math.max(Math.ceil(box[3]), y1), height - 1);
  const pipeline = sharp(path)
    .extract({ left: x1, top: y1, width: x2 - x1 + 1, height: y2 - y1 + 1 })
    .resize(size, size, { fit: 'fill' });
  return decodeToFloat(pipeline, path);
}

/** Decodes the whole file (a header read would miss a truncated one) at a tiny size; a UserError when it cannot. */
export async function checkImage(ref: ImageRef): Promise<void> {
  await decodeToFloat((await openImage(ref)).resize(8, 8, { fit: 'fill' }), sourceOf(ref));
}

export function toUint8(img: FloatImage): Uint8Array {
  const out = new Uint8Array(img.data.length);
  for (let i = 0; i < img.data.length; i++) {
    out[i] = Math.round(Math.min(Math.max((img.data[i] + 1) * 127.5, 0), 255));
  }
  return out;
}

export async function savePng(img: FloatImage, path: string): Promise<void> {
  const png = await sharp(toUint8(img), { raw: { width: img.width, height: img.height, channels: 3 } })
    .png()
    .toBuffer();
  await writeFileAtomic(path, png);
}

export async function imageSize(path: string): Promise<{ width: number; height: number }> {
  let meta: Metadata;
  try {
    meta = await sharp(path).metadata();
  } catch (err) {
    throw unreadable(path, err);
  }
  if (!meta.width || !meta.height) {
    throw new UserError(`${path}: the image has no size; expected a readable JPEG or PNG`);
  }
  return { width: meta.width, height: meta.height };
}
