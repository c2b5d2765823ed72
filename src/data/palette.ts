/**
 * PASCAL VOC label maps: indexed (colour type 3) PNGs whose pixel values are
 * class indices (0 background, 1..N classes, 255 void) and whose palette is the
 * devkit colormap, so the files open as the familiar coloured masks.
 */
import { readFile } from 'node:fs/promises';
import { decode, encode } from 'fast-png';
import { UserError } from '../errors.js';
import { writeFileAtomic } from '../fs/atomic.js';

/** Label of object borders and ignored regions in VOC segmentations. */
export const VOID_LABEL = 255;

/** The devkit's `labelcolormap`: the bits of the index spread over the high bits of r, g, b. */
export function vocColormap(n = 256): [number, number, number][] {
  const map: [number, number, number][] = [];
  for (let i = 0; i < n; i++) {
    let id = i;
    let r = 0;
    let g = 0;
    let b = 0;
    for (let j = 0; j < 8; j++) {
      r |= (id & 1) << (7 - j);
      g |= ((id >> 1) & 1) << (7 - j);
      b |= ((id >> 2) & 1) << (7 - j);
      id >>= 3;
    }
    map.push([r, g, b]);
  }
  return map;
}

const COLORMAP = vocColormap(256);

export interface LabelMap {
  width: number;
  height: number;
  labels: Uint8Array;
}

export function encodePalettePng(map: LabelMap): Uint8Array {
  if (map.labels.length !== map.width * map.height) {
    throw new Error(`label map has ${map.labels.length} values for ${map.width}x${map.height}`);
  }
  return encode({
    width: map.width,
    height: map.height,
    data: map.labels,
    channels: 1,
    depth: 8,
    palette: COLORMAP,
  });
}

export async function writePalettePng(path: string, map: LabelMap): Promise<void> {
  await writeFileAtomic(path, encodePalettePng(map));
}

/**
 * Label indices of a VOC-style PNG. Indexed PNGs give their indices directly;
 * greyscale PNGs (as in converted sets such as SegmentationClassAug) are taken
 * as indices; RGB PNGs are mapped back through the VOC colormap.
 */
export function decodeLabelPng(bytes: Uint8Array, source: string): LabelMap {
  let png;
  try {
    png = decode(bytes);
  } catch (err) {
    throw new UserError(`${source}: not a readable PNG (${(err as Error).message}); expected a VOC palette PNG`);
  }
  const { width, height, depth, channels } = png;
  const n = width * height;
  if (channels === 1 && depth <= 8) {
    return { width, height, labels: unpackBits(png.data as Uint8Array, width, height, depth) };
  }
  if ((channels === 3 || channels === 4) && depth === 8) {
    const lookup = new Map<number, number>();
    COLORMAP.forEach(([r, g, b], i) => lookup.set((r << 16) | (g << 8) | b, i));
    const labels = new Uint8Array(n);
    for (let p = 0; p < n; p++) {
      const o = p * channels;
      const key = (png.data[o] << 16) | (png.data[o + 1] << 8) | png.data[o + 2];
      const index = lookup.get(key);
      if (index === undefined) {
        throw new UserError(
          `${source}: colour (${png.data[o]},${png.data[o + 1]},${png.data[o + 2]}) at pixel ${p % width},${Math.floor(p / width)} is not in the VOC colormap; save label maps as indexed PNGs`,
        );
      }
      labels[p] = index;
    }
    return { width, height, labels };
  }
  throw new UserError(`${source}: ${channels}-channel ${depth}-bit PNG is not a label map; expected an 8-bit indexed (palette) PNG`);
}

export async function readLabelPng(path: string): Promise<LabelMap> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch {
    throw new UserError(`${path}: cannot read the segmentation PNG; check the file exists`);
  }
  return decodeLabelPng(bytes, path);
}

/** fast-png keeps sub-byte pixels packed, rows padded to whole bytes. */
function unpackBits(data: Uint8Array, width: number, height: number, depth: number): Uint8Array {
  if (depth === 8) return Uint8Array.from(data);
  const out = new Uint8Array(width * height);
  const perByte = 8 / depth;
  const rowBytes = Math.ceil(width / perByte);
  const maskBits = (1 << depth) - 1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const byte = data[y * rowBytes + Math.floor(x / perByte)];
      const shift = 8 - depth * ((x % perByte) + 1);
      out[y * width + x] = (byte >> shift) & maskBits;
    }
  }
  return out;
}
