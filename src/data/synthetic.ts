/**
 * A synthetic stand-in for PASCAL VOC, written in VOC's exact layout so every
 * loader, task and metric runs unchanged on it (tests, CI, machines without
 * the real data).
 *
 * The images are built so the benchmark's tasks are learnable yet not trivial:
 * - each class has its own shape, colour family and texture, drawn with jitter,
 *   so classification, detection and segmentation can be learned from features;
 * - backgrounds are smooth gradients with low-frequency stripes, grids or
 *   checks, so a hole's content is predictable only from its surroundings;
 * - the main object sits near the centre, so central holes occlude it partly.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { XMLBuilder } from 'fast-xml-parser';
import sharp from 'sharp';
import { Rng } from '../engine/random.js';
import { UserError } from '../errors.js';
import { writeDirAtomic, writeFileAtomic, writeJsonAtomic } from '../fs/atomic.js';
import { VOID_LABEL, encodePalettePng } from './palette.js';
import { VOC_CLASSES, orderClasses } from './voc.js';

export interface SynthOptions {
  out: string;
  images: number;
  size: number;
  seed: number;
  /** Count of VOC classes to use (the first N) or their names; default all 20. */
  classes?: number | string[];
}

/** Written at the root; its presence marks a folder this generator may replace. */
export const SYNTH_MARKER = 'synthetic.json';
const GENERATOR = 'context-encoder-bench synthetic VOC v1';

const SPLITS = ['train', 'val', 'trainval', 'test'] as const;
const SEGMENTED_SHARE = 0.6;
const JPEG_QUALITY = 92;
const PARALLEL_ENCODES = 8;

type ShapeKind =
  | 'circle' | 'square' | 'triangle' | 'ring' | 'cross'
  | 'star' | 'ellipse' | 'diamond' | 'hexagon' | 'crescent';
const SHAPES: ShapeKind[] = [
  'circle', 'square', 'triangle', 'ring', 'cross', 'star', 'ellipse', 'diamond', 'hexagon', 'crescent',
];
type Texture = 'stripes' | 'dots' | 'checker' | 'gradient';
const TEXTURES: Texture[] = ['stripes', 'dots', 'checker', 'gradient'];

/** The look shared by every instance of a class; k % 10 and k % 4 make all 20 (shape, texture) pairs distinct. */
interface ClassStyle {
  shape: ShapeKind;
  texture: Texture;
  hue: number;
  textureAngle: number;
  /** Texture period at 128 px. */
  period: number;
}

function classStyle(k: number): ClassStyle {
  return {
    shape: SHAPES[k % SHAPES.length],
    texture: TEXTURES[k % TEXTURES.length],
    hue: (k * 137.508) % 360,
    textureAngle: (((k * 47) % 180) * Math.PI) / 180,
    period: 5 + ((k * 3) % 6),
  };
}

function resolveClasses(classes: SynthOptions['classes']): string[] {
  if (classes === undefined) return [...VOC_CLASSES];
  if (typeof classes === 'number') {
    if (!Number.isInteger(classes) || classes < 1 || classes > VOC_CLASSES.length) {
      throw new UserError(`synth classes: ${classes} must be an integer from 1 to ${VOC_CLASSES.length}`);
    }
    return VOC_CLASSES.slice(0, classes);
  }
  if (classes.length === 0) throw new UserError('synth classes: the list is empty; name at least one class');
  for (const name of classes) {
    if (!/^[A-Za-z0-9-]+$/.test(name)) {
      throw new UserError(`synth classes: '${name}' must be letters, digits or '-' (it becomes a file name part before '_')`);
    }
  }
  return orderClasses(classes);
}

function hsv(h: number, s: number, v: number): [number, number, number] {
  const hh = (((h % 360) + 360) % 360) / 60;
  const c = v * s;
  const x = c * (1 - Math.abs((hh % 2) - 1));
  const m = v - c;
  const [r, g, b] =
    hh < 1 ? [c, x, 0] : hh < 2 ? [x, c, 0] : hh < 3 ? [0, c, x] : hh < 4 ? [0, x, c] : hh < 5 ? [x, 0, c] : [c, 0, x];
  return [(r + m) * 255, (g + m) * 255, (b + m) * 255];
}

const TRIANGLE = [-90, 30, 150].map((d) => [Math.cos((d * Math.PI) / 180), Math.sin((d * Math.PI) / 180)]);
const HEX_AXES = [0, 60, 120].map((d) => [Math.cos((d * Math.PI) / 180), Math.sin((d * Math.PI) / 180)]);

/** Shapes in unit coordinates (y down), each within the unit disk. */
function inside(shape: ShapeKind, u: number, v: number): boolean {
  const r2 = u * u + v * v;
  switch (shape) {
    case 'circle':
      return r2 <= 1;
    case 'square':
      return Math.max(Math.abs(u), Math.abs(v)) <= 0.72;
    case 'triangle':
      return TRIANGLE.every(([a, b]) => u * a + v * b >= -0.5);
    case 'ring':
      return r2 <= 1 && r2 >= 0.3;
    case 'cross':
      return (Math.abs(u) <= 0.3 && Math.abs(v) <= 0.95) || (Math.abs(v) <= 0.3 && Math.abs(u) <= 0.95);
    case 'star': {
      const a = Math.atan2(v, u) + Math.PI / 2;
      const t = (((a * 5) / (2 * Math.PI)) % 1 + 1) % 1;
      return Math.sqrt(r2) <= 0.42 + 0.58 * Math.abs(t - 0.5) * 2;
    }
    case 'ellipse':
      return u * u + (v / 0.55) * (v / 0.55) <= 1;
    case 'diamond':
      return Math.abs(u) / 0.75 + Math.abs(v) <= 1;
    case 'hexagon':
      return HEX_AXES.every(([a, b]) => Math.abs(u * a + v * b) <= 0.85);
    case 'crescent': {
      const du = u - 0.4;
      const dv = v + 0.15;
      return r2 <= 1 && du * du + dv * dv > 0.64;
    }
  }
}

interface PlacedObject {
  classIndex: number;
  difficult: boolean;
  truncated: boolean;
  /** Pixel indices the object covers inside the image, before later objects occlude it. */
  pixels: number[];
  /** Pixels it would cover on an unbounded canvas. */
  unclipped: number;
  paint: (x: number, y: number, rgb: Float32Array, i: number) => void;
}

interface SceneObject {
  classIndex: number;
  difficult: boolean;
  truncated: boolean;
  /** 1-based inclusive, VOC style. */
  box: [number, number, number, number];
}

interface Scene {
  rgb: Uint8Array;
  /** 0 background, k for the k-th object (1-based, XML order). */
  instances: Uint8Array;
  objects: SceneObject[];
}

function drawBackground(size: number, rng: Rng, rgb: Float32Array): void {
  const c1 = hsv(rng.uniform(0, 360), rng.uniform(0.05, 0.35), rng.uniform(0.25, 0.9));
  const c2 = hsv(rng.uniform(0, 360), rng.uniform(0.05, 0.35), rng.uniform(0.25, 0.9));
  const phi = rng.uniform(0, 2 * Math.PI);
  const gx = Math.cos(phi) / size;
  const gy = Math.sin(phi) / size;
  const pattern = rng.int(3);
  const period = size * rng.uniform(0.12, 0.35);
  const psi = rng.uniform(0, Math.PI);
  const px = Math.cos(psi);
  const py = Math.sin(psi);
  const amplitude = rng.uniform(12, 30);
  const line = Math.max(1, Math.round(size / 96));
  const gridX = rng.int(Math.ceil(period));
  const gridY = rng.int(Math.ceil(period));
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const t = Math.min(1, Math.max(0, 0.5 + (x - size / 2) * gx + (y - size / 2) * gy));
      let shade = 0;
      let scale = 1;
      if (pattern === 0) {
        shade = amplitude * Math.sin((2 * Math.PI * (x * px + y * py)) / period);
      } else if (pattern === 1) {
        const onLine = (x + gridX) % Math.ceil(period) < line || (y + gridY) % Math.ceil(period) < line;
        scale = onLine ? 0.75 : 1;
      } else {
        const cell = (Math.floor((x + gridX) / period) + Math.floor((y + gridY) / period)) & 1;
        shade = cell ? amplitude * 0.6 : -amplitude * 0.6;
      }
      const o = (y * size + x) * 3;
      for (let c = 0; c < 3; c++) rgb[o + c] = ((1 - t) * c1[c] + t * c2[c] + shade) * scale;
    }
  }
}

/** Proposes one object; the caller decides whether to keep it. */
function proposeObject(
  size: number,
  rng: Rng,
  classIndex: number,
  style: ClassStyle,
  role: 'main' | 'other' | 'small',
): PlacedObject {
  const radius =
    size * (role === 'main' ? rng.uniform(0.17, 0.3) : role === 'other' ? rng.uniform(0.1, 0.2) : rng.uniform(0.045, 0.07));
  const cx = role === 'main' ? size * (0.5 + rng.uniform(-0.17, 0.17)) : rng.uniform(0, size);
  const cy = role === 'main' ? size * (0.5 + rng.uniform(-0.17, 0.17)) : rng.uniform(0, size);
  const theta = rng.uniform(-0.45, 0.45);
  const aspect = Math.exp(rng.uniform(-0.15, 0.15));
  const cos = Math.cos(theta);
  const sin = Math.sin(theta);
  const ru = radius * aspect;
  const rv = radius / aspect;

  const colorA = hsv(style.hue + rng.uniform(-10, 10), rng.uniform(0.55, 0.9), rng.uniform(0.65, 0.95));
  const colorB = colorA.map((c) => c * 0.45);
  const ta = style.textureAngle + rng.uniform(-0.15, 0.15);
  const tc = Math.cos(ta);
  const ts = Math.sin(ta);
  const period = Math.max(3, (style.period * size) / 128) * rng.uniform(0.9, 1.1);
  const light = rng.uniform(0, 2 * Math.PI);
  const lx = Math.cos(light) * 0.12;
  const ly = Math.sin(light) * 0.12;

  const reach = Math.ceil(Math.max(ru, rv)) + 1;
  const pixels: number[] = [];
  let unclipped = 0;
  for (let y = Math.floor(cy) - reach; y <= Math.floor(cy) + reach; y++) {
    for (let x = Math.floor(cx) - reach; x <= Math.floor(cx) + reach; x++) {
      const dx = x + 0.5 - cx;
      const dy = y + 0.5 - cy;
      if (!inside(style.shape, (dx * cos + dy * sin) / ru, (-dx * sin + dy * cos) / rv)) continue;
      unclipped++;
      if (x >= 0 && y >= 0 && x < size && y < size) pixels.push(y * size + x);
    }
  }

  const paint = (x: number, y: number, rgb: Float32Array, i: number): void => {
    const dx = x + 0.5 - cx;
    const dy = y + 0.5 - cy;
    const tx = dx * tc + dy * ts;
    const ty = -dx * ts + dy * tc;
    let mix: number;
    switch (style.texture) {
      case 'stripes':
        mix = (((tx / period) % 1) + 1) % 1 < 0.5 ? 1 : 0;
        break;
      case 'dots': {
        const fx = ((((tx / period) % 1) + 1) % 1) - 0.5;
        const fy = ((((ty / period) % 1) + 1) % 1) - 0.5;
        mix = fx * fx + fy * fy < 0.09 ? 1 : 0;
        break;
      }
      case 'checker':
        mix = (Math.floor(tx / (period * 0.6)) + Math.floor(ty / (period * 0.6))) & 1;
        break;
      case 'gradient':
        mix = Math.min(1, Math.max(0, 0.5 + tx / (2.2 * radius)));
        break;
    }
    const shading = 1 + (dx * lx + dy * ly) / radius;
    for (let c = 0; c < 3; c++) rgb[i * 3 + c] = ((1 - mix) * colorA[c] + mix * colorB[c]) * shading;
  };

  return {
    classIndex,
    difficult: role === 'small',
    truncated: pixels.length < unclipped,
    pixels,
    unclipped,
    paint,
  };
}

/** Draws a scene whose first object has class `mainClass`; later objects may not hide more than 40% of earlier ones. */
function renderScene(size: number, rng: Rng, mainClass: number, styles: ClassStyle[]): Scene {
  const canvas = new Float32Array(size * size * 3);
  drawBackground(size, rng.fork('background'), canvas);
  const instances = new Uint8Array(size * size);
  const kept: PlacedObject[] = [];
  const visible: number[] = [];
  const roll = rng.next();
  const count = roll < 0.4 ? 1 : roll < 0.8 ? 2 : 3;
  for (let k = 0; k < count; k++) {
    const classIndex = k === 0 ? mainClass : rng.int(styles.length);
    const role = k === 0 ? 'main' : rng.next() < 0.2 ? 'small' : 'other';
    for (let attempt = 0; attempt < 8; attempt++) {
      const obj = proposeObject(size, rng, classIndex, styles[classIndex], role);
      const hidden = new Array<number>(kept.length).fill(0);
      for (const i of obj.pixels) if (instances[i]) hidden[instances[i] - 1]++;
      // At least 45% inside the image, and no earlier object loses over 40% of what still shows.
      const acceptable =
        obj.pixels.length >= 8 &&
        obj.pixels.length >= 0.45 * obj.unclipped &&
        hidden.every((h, j) => h <= 0.4 * visible[j]);
      if (!acceptable) continue;
      const id = kept.length + 1;
      for (const i of obj.pixels) {
        if (instances[i]) visible[instances[i] - 1]--;
        instances[i] = id;
        obj.paint(i % size, Math.floor(i / size), canvas, i);
      }
      kept.push(obj);
      visible.push(obj.pixels.length);
      break;
    }
  }

  const noise = rng.fork('noise');
  const rgb = new Uint8Array(size * size * 3);
  // One draw per pixel: each channel's noise is one byte of it, scaled to [-4, 4].
  for (let p = 0; p < size * size; p++) {
    const bits = noise.nextUint32();
    for (let c = 0; c < 3; c++) {
      const n = (((bits >>> (8 * c)) & 255) / 255) * 8 - 4;
      rgb[p * 3 + c] = Math.min(255, Math.max(0, Math.round(canvas[p * 3 + c] + n)));
    }
  }

  const objects = kept.map((obj, j): SceneObject => {
    let x0 = size;
    let y0 = size;
    let x1 = -1;
    let y1 = -1;
    for (const i of obj.pixels) {
      if (instances[i] !== j + 1) continue;
      const x = i % size;
      const y = Math.floor(i / size);
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
    return { classIndex: obj.classIndex, difficult: obj.difficult, truncated: obj.truncated, box: [x0 + 1, y0 + 1, x1 + 1, y1 + 1] };
  });
  return { rgb, instances, objects };
}

/**
 * VOC label maps: object pixels on the inner side of any edge, grown by `r`,
 * become void (255), a band about 2r + 1 px wide as in the devkit's
 * annotations; difficult objects are void throughout.
 */
function labelMaps(scene: Scene, size: number): { classMap: Uint8Array; objectMap: Uint8Array } {
  const { instances, objects } = scene;
  const r = size >= 256 ? 2 : 1;
  const edge = new Uint8Array(size * size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const i = y * size + x;
      const id = instances[i];
      if (!id) continue;
      if (
        (x > 0 && instances[i - 1] !== id) ||
        (x < size - 1 && instances[i + 1] !== id) ||
        (y > 0 && instances[i - size] !== id) ||
        (y < size - 1 && instances[i + size] !== id)
      ) {
        edge[i] = 1;
      }
    }
  }
  const classMap = new Uint8Array(size * size);
  const objectMap = new Uint8Array(size * size);
  for (let i = 0; i < size * size; i++) {
    const id = instances[i];
    if (!id) continue;
    const obj = objects[id - 1];
    classMap[i] = obj.difficult ? VOID_LABEL : obj.classIndex + 1;
    objectMap[i] = obj.difficult ? VOID_LABEL : id;
  }
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      if (!edge[y * size + x]) continue;
      for (let yy = Math.max(0, y - r); yy <= Math.min(size - 1, y + r); yy++) {
        for (let xx = Math.max(0, x - r); xx <= Math.min(size - 1, x + r); xx++) {
          classMap[yy * size + xx] = VOID_LABEL;
          objectMap[yy * size + xx] = VOID_LABEL;
        }
      }
    }
  }
  return { classMap, objectMap };
}

const xmlBuilder = new XMLBuilder({ format: true, indentBy: '\t', suppressEmptyNode: false });

function annotationXml(id: string, size: number, segmented: boolean, objects: SceneObject[], classes: string[]): string {
  return xmlBuilder.build({
    annotation: {
      folder: 'SyntheticVOC',
      filename: `${id}.jpg`,
      source: { database: 'The Synthetic VOC Database', annotation: GENERATOR, image: 'synthetic' },
      size: { width: size, height: size, depth: 3 },
      segmented: segmented ? 1 : 0,
      object: objects.map((o) => ({
        name: classes[o.classIndex],
        pose: 'Unspecified',
        truncated: o.truncated ? 1 : 0,
        difficult: o.difficult ? 1 : 0,
        bndbox: { xmin: o.box[0], ymin: o.box[1], xmax: o.box[2], ymax: o.box[3] },
      })),
    },
  }) as string;
}

interface Plan {
  ids: string[];
  split: Record<(typeof SPLITS)[number], string[]>;
  segmentation: { train: string[]; val: string[] };
  mainClass: Map<string, number>;
}

/** Half test, half trainval (split again into train and val); main classes cycle within each split so all are represented. */
function planDataset(images: number, classCount: number, rng: Rng): Plan {
  const digits = Math.max(6, String(images).length);
  const ids = Array.from({ length: images }, (_, i) => String(i + 1).padStart(digits, '0'));
  const order = rng.fork('splits').shuffle(ids.slice());
  const nTest = Math.floor(images / 2);
  const nTrain = Math.ceil((images - nTest) / 2);
  const sorted = (list: string[]): string[] => list.slice().sort();
  const test = order.slice(0, nTest);
  const train = order.slice(nTest, nTest + nTrain);
  const val = order.slice(nTest + nTrain);
  const mainClass = new Map<string, number>();
  const classRng = rng.fork('main-classes');
  for (const part of [train, val, test]) {
    let cycle: number[] = [];
    for (const id of part) {
      if (cycle.length === 0) cycle = classRng.shuffle(Array.from({ length: classCount }, (_, k) => k));
      mainClass.set(id, cycle.pop() as number);
    }
  }
  const segRng = rng.fork('segmented');
  const pickSegmented = (part: string[]): string[] =>
    sorted(segRng.shuffle(part.slice()).slice(0, Math.max(1, Math.round(part.length * SEGMENTED_SHARE))));
  return {
    ids,
    split: { train: sorted(train), val: sorted(val), trainval: sorted([...train, ...val]), test: sorted(test) },
    segmentation: { train: pickSegmented(train), val: pickSegmented(val) },
    mainClass,
  };
}

function checkOutput(out: string): void {
  if (!existsSync(out)) return;
  if (!statSync(out).isDirectory()) {
    throw new UserError(`${out}: exists and is not a folder; pass a new or previously generated folder`);
  }
  const entries = readdirSync(out);
  if (entries.length > 0 && !entries.includes(SYNTH_MARKER)) {
    throw new UserError(`${out}: folder is not empty and was not made by this generator (no ${SYNTH_MARKER}); refusing to replace it`);
  }
}

export async function writeSyntheticVoc(opts: SynthOptions): Promise<void> {
  const { out, images, size, seed } = opts;
  if (!Number.isInteger(images) || images < 4) {
    throw new UserError(`synth images: ${images} must be an integer of at least 4 (train, val and test each need one)`);
  }
  if (!Number.isInteger(size) || size < 32 || size > 2048) {
    throw new UserError(`synth size: ${size} must be an integer from 32 to 2048 pixels`);
  }
  if (!Number.isInteger(seed)) throw new UserError(`synth seed: ${seed} must be an integer`);
  const classes = resolveClasses(opts.classes);
  checkOutput(out);

  const rng = new Rng(seed);
  const styles = classes.map((_, k) => classStyle(k));
  const plan = planDataset(images, classes.length, rng);
  const segmented = new Set([...plan.segmentation.train, ...plan.segmentation.val]);

  await writeDirAtomic(out, async (dir) => {
    const objectsById = new Map<string, SceneObject[]>();
    let pending: Promise<void>[] = [];
    for (const id of plan.ids) {
      const scene = renderScene(size, rng.fork(`image/${id}`), plan.mainClass.get(id) as number, styles);
      objectsById.set(id, scene.objects);
      const isSegmented = segmented.has(id);
      pending.push(
        (async () => {
          const jpeg = await sharp(scene.rgb, { raw: { width: size, height: size, channels: 3 } })
            .jpeg({ quality: JPEG_QUALITY })
            .toBuffer();
          await writeFileAtomic(join(dir, 'JPEGImages', `${id}.jpg`), jpeg);
          await writeFileAtomic(
            join(dir, 'Annotations', `${id}.xml`),
            annotationXml(id, size, isSegmented, scene.objects, classes),
          );
          if (isSegmented) {
            const { classMap, objectMap } = labelMaps(scene, size);
            await writeFileAtomic(
              join(dir, 'SegmentationClass', `${id}.png`),
              encodePalettePng({ width: size, height: size, labels: classMap }),
            );
            await writeFileAtomic(
              join(dir, 'SegmentationObject', `${id}.png`),
              encodePalettePng({ width: size, height: size, labels: objectMap }),
            );
          }
        })(),
      );
      if (pending.length >= PARALLEL_ENCODES) {
        await Promise.all(pending);
        pending = [];
      }
    }
    await Promise.all(pending);

    const lines = (ids: string[]): string => ids.map((id) => `${id}\n`).join('');
    for (const split of SPLITS) {
      await writeFileAtomic(join(dir, 'ImageSets', 'Main', `${split}.txt`), lines(plan.split[split]));
      for (let k = 0; k < classes.length; k++) {
        const text = plan.split[split]
          .map((id) => {
            const mine = (objectsById.get(id) as SceneObject[]).filter((o) => o.classIndex === k);
            const label = mine.some((o) => !o.difficult) ? 1 : mine.length > 0 ? 0 : -1;
            return `${id} ${String(label).padStart(2)}\n`;
          })
          .join('');
        await writeFileAtomic(join(dir, 'ImageSets', 'Main', `${classes[k]}_${split}.txt`), text);
      }
    }
    const seg = plan.segmentation;
    await writeFileAtomic(join(dir, 'ImageSets', 'Segmentation', 'train.txt'), lines(seg.train));
    await writeFileAtomic(join(dir, 'ImageSets', 'Segmentation', 'val.txt'), lines(seg.val));
    await writeFileAtomic(
      join(dir, 'ImageSets', 'Segmentation', 'trainval.txt'),
      lines([...seg.train, ...seg.val].sort()),
    );
    await writeJsonAtomic(join(dir, SYNTH_MARKER), { generator: GENERATOR, images, size, seed, classes });
  });
}
