/**
 * PASCAL VOC folders (VOCdevkit/VOC2007, VOC2012, or the synthetic stand-in):
 * JPEGImages/, Annotations/, ImageSets/{Main,Segmentation}/, SegmentationClass/.
 */
import { existsSync, statSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { UserError } from '../errors.js';
import { imageSize } from './image.js';
import { readLabelPng, VOID_LABEL } from './palette.js';

export const VOC_CLASSES: readonly string[] = [
  'aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car', 'cat', 'chair', 'cow',
  'diningtable', 'dog', 'horse', 'motorbike', 'person', 'pottedplant', 'sheep', 'sofa', 'train', 'tvmonitor',
];

/** `box` as in the XML: 1-based inclusive xmin, ymin, xmax, ymax. */
export interface VocObject {
  name: string;
  box: [number, number, number, number];
  difficult: boolean;
  truncated: boolean;
}

export interface VocAnnotation {
  id: string;
  width: number;
  height: number;
  objects: VocObject[];
}

const VOC_HELP =
  'download VOC2007 from http://host.robots.ox.ac.uk/pascal/VOC/voc2007/ and pass the VOCdevkit/VOC2007 folder (or generate one with `bench synth`)';

/** Devkit order for VOC names, then any other names alphabetically. */
export function orderClasses(names: Iterable<string>): string[] {
  const unique = [...new Set(names)];
  const rank = (name: string): number => {
    const i = VOC_CLASSES.indexOf(name);
    return i < 0 ? VOC_CLASSES.length : i;
  };
  return unique.sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
}

function isDir(path: string): boolean {
  return existsSync(path) && statSync(path).isDirectory();
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    throw new UserError(`${path}: missing ${what}; ${VOC_HELP}`);
  }
}

function childText(node: unknown): string | undefined {
  if (node === undefined || node === null) return undefined;
  if (typeof node === 'object') {
    const text = (node as Record<string, unknown>)['#text'];
    return text === undefined ? undefined : String(text).trim();
  }
  return String(node).trim();
}

function flag(node: unknown): boolean {
  const text = childText(node);
  return text !== undefined && Number(text) !== 0;
}

export class VocDataset {
  /**
   * Classes found in ImageSets/Main/<cls>_<split>.txt (all 20 VOC classes when
   * there are none). Segmentation label k (1..) is classes[k - 1].
   */
  readonly classes: readonly string[];
  private readonly segmented: boolean;
  private readonly annotations = new Map<string, VocAnnotation>();
  private readonly parser = new XMLParser({ parseTagValue: false, ignoreAttributes: true, processEntities: true });

  private constructor(readonly root: string, classes: string[], segmented: boolean) {
    this.classes = classes;
    this.segmented = segmented;
  }

  static async open(root: string): Promise<VocDataset> {
    if (!isDir(root)) {
      throw new UserError(`${root}: folder not found; ${VOC_HELP}`);
    }
    const missing = ['JPEGImages', 'ImageSets'].filter((d) => !isDir(join(root, d)));
    if (missing.length > 0) {
      const nested = ['VOC2007', 'VOC2012', 'VOCdevkit'].filter((d) => isDir(join(root, d)));
      const hint = nested.length > 0 ? ` (did you mean ${join(root, nested[0])}?)` : '';
      throw new UserError(
        `${root}: not a PASCAL VOC folder${hint} (expected JPEGImages/, Annotations/, ImageSets/Main/; missing ${missing.join('/, ')}/); ${VOC_HELP}`,
      );
    }
    const mainDir = join(root, 'ImageSets', 'Main');
    const found: string[] = [];
    if (isDir(mainDir)) {
      for (const file of await readdir(mainDir)) {
        const m = /^(.+)_[^_]+\.txt$/.exec(file);
        if (m) found.push(m[1]);
      }
    }
    const classes = found.length > 0 ? orderClasses(found) : [...VOC_CLASSES];
    const segmented = isDir(join(root, 'SegmentationClass')) && isDir(join(root, 'ImageSets', 'Segmentation'));
    return new VocDataset(root, classes, segmented);
  }

  async ids(split: string, task: 'Main' | 'Segmentation' = 'Main'): Promise<string[]> {
    const dir = join(this.root, 'ImageSets', task);
    const path = join(dir, `${split}.txt`);
    if (!existsSync(path)) {
      const available = isDir(dir)
        ? (await readdir(dir)).filter((f) => /^[^_]+\.txt$/.test(f)).map((f) => f.slice(0, -4)).sort()
        : [];
      throw new UserError(
        `${path}: no '${split}' split for ${task}; available: ${available.length > 0 ? available.join(', ') : 'none'}`,
      );
    }
    const text = await readText(path, `ImageSets/${task} split file`);
    const ids = text
      .split(/\r?\n/)
      .map((line) => line.trim().split(/\s+/)[0])
      .filter((id) => id !== undefined && id.length > 0);
    if (ids.length === 0) throw new UserError(`${path}: the '${split}' split lists no images; expected one image id per line`);
    return ids;
  }

  /** Whether ImageSets/Main has per-class label files (<class>_<split>.txt) for `split`. */
  async hasClassLabels(split: string): Promise<boolean> {
    const dir = join(this.root, 'ImageSets', 'Main');
    return isDir(dir) && (await readdir(dir)).some((f) => f.endsWith(`_${split}.txt`) && this.classes.includes(f.slice(0, -`_${split}.txt`.length)));
  }

  async classLabels(cls: string, split: string): Promise<Map<string, 1 | -1 | 0>> {
    const path = join(this.root, 'ImageSets', 'Main', `${cls}_${split}.txt`);
    const text = await readText(path, `per-class label file (lines "<id> 1|-1|0")`);
    const labels = new Map<string, 1 | -1 | 0>();
    text.split(/\r?\n/).forEach((line, i) => {
      const parts = line.trim().split(/\s+/);
      if (parts.length === 1 && parts[0] === '') return;
      const value = Number(parts[1]);
      if (parts.length !== 2 || (value !== 1 && value !== -1 && value !== 0)) {
        throw new UserError(`${path}:${i + 1}: expected "<id> 1", "<id> -1" or "<id> 0", got "${line.trim()}"`);
      }
      labels.set(parts[0], value as 1 | -1 | 0);
    });
    return labels;
  }

  imagePath(id: string): string {
    return join(this.root, 'JPEGImages', `${id}.jpg`);
  }

  async annotation(id: string): Promise<VocAnnotation> {
    const cached = this.annotations.get(id);
    if (cached) return cached;
    const path = join(this.root, 'Annotations', `${id}.xml`);
    const xml = await readText(path, 'annotation XML');
    // The parser accepts truncated XML silently; the validator says where it breaks.
    const valid = XMLValidator.validate(xml);
    if (valid !== true) {
      throw new UserError(`${path}:${valid.err.line}:${valid.err.col}: malformed XML (${valid.err.msg}); expected a VOC annotation file`);
    }
    let doc: Record<string, unknown>;
    try {
      doc = this.parser.parse(xml) as Record<string, unknown>;
    } catch (err) {
      throw new UserError(`${path}: malformed XML (${(err as Error).message})`);
    }
    const ann = doc.annotation as Record<string, unknown> | undefined;
    if (!ann || typeof ann !== 'object') {
      throw new UserError(`${path}: no <annotation> element; expected a VOC annotation file`);
    }
    const sizeNode = (ann.size ?? {}) as Record<string, unknown>;
    let width = Number(childText(sizeNode.width));
    let height = Number(childText(sizeNode.height));
    // A few VOC2012 files record size 0; the JPEG itself is authoritative.
    if (!(width > 0 && height > 0)) {
      ({ width, height } = await imageSize(this.imagePath(id)));
    }
    const rawObjects = ann.object === undefined ? [] : Array.isArray(ann.object) ? ann.object : [ann.object];
    const objects = (rawObjects as Record<string, unknown>[]).map((obj, k): VocObject => {
      const bb = (obj.bndbox ?? {}) as Record<string, unknown>;
      const box = ['xmin', 'ymin', 'xmax', 'ymax'].map((key) => Number(childText(bb[key]))) as [
        number, number, number, number,
      ];
      const name = childText(obj.name);
      if (!name || box.some((v) => !Number.isFinite(v))) {
        throw new UserError(`${path}: object ${k + 1} lacks a name or a numeric bndbox (xmin, ymin, xmax, ymax)`);
      }
      return { name, box, difficult: flag(obj.difficult), truncated: flag(obj.truncated) };
    });
    const result: VocAnnotation = { id, width, height, objects };
    this.annotations.set(id, result);
    return result;
  }

  hasSegmentation(): boolean {
    return this.segmented;
  }

  async segmentation(id: string): Promise<{ width: number; height: number; labels: Uint8Array }> {
    if (!this.segmented) {
      throw new UserError(
        `${this.root}: no segmentations (expected SegmentationClass/ and ImageSets/Segmentation/); use VOC2012 from http://host.robots.ox.ac.uk/pascal/VOC/voc2012/`,
      );
    }
    const path = join(this.root, 'SegmentationClass', `${id}.png`);
    const map = await readLabelPng(path);
    const image = await imageSize(this.imagePath(id));
    if (map.width !== image.width || map.height !== image.height) {
      throw new UserError(`${path}: label map is ${map.width}x${map.height} but its image ${this.imagePath(id)} is ${image.width}x${image.height}; label maps must match their image pixel for pixel`);
    }
    const classes = this.classes.length;
    const at = map.labels.findIndex((v) => v > classes && v !== VOID_LABEL);
    if (at >= 0) {
      throw new UserError(
        `${path}: label ${map.labels[at]} at pixel ${at % map.width},${Math.floor(at / map.width)} is not a class of this dataset (0 background, 1..${classes}, ${VOID_LABEL} void); expected a VOC palette label map`,
      );
    }
    return map;
  }
}
