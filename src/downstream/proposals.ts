/**
 * Region proposals for the Fast R-CNN style detector and the per-image RoI
 * sampling of its training. Boxes here are [x1, y1, x2, y2], 0-based and
 * inclusive, in the pixels of the square network input unless said otherwise.
 */
import { readFile } from 'node:fs/promises';
import { Rng } from '../engine/random.js';
import { UserError } from '../errors.js';
import { boxIoU, type Box } from '../metrics/detection.js';

/**
 * Reads a proposals file: `{ "<image id>": [[x1, y1, x2, y2], ...] }` in the
 * original image's pixels, 1-based inclusive as in the VOC annotation XML
 * (the convention of the published selective-search boxes for VOC).
 */
export async function loadProposalFile(path: string): Promise<Map<string, Box[]>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new UserError(`${path}: cannot read the proposals file; give a JSON file { "<image id>": [[x1, y1, x2, y2], ...] } or leave "proposals" out for built-in sliding windows`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new UserError(`${path}: not valid JSON (${(err as Error).message}); expected { "<image id>": [[x1, y1, x2, y2], ...] }`);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new UserError(`${path}: expected a JSON object { "<image id>": [[x1, y1, x2, y2], ...] }`);
  }
  const out = new Map<string, Box[]>();
  for (const [id, list] of Object.entries(doc as Record<string, unknown>)) {
    if (!Array.isArray(list)) {
      throw new UserError(`${path}: "${id}" must be an array of [x1, y1, x2, y2] boxes`);
    }
    out.set(
      id,
      list.map((box, k) => {
        if (
          !Array.isArray(box) ||
          box.length !== 4 ||
          !box.every((v) => typeof v === 'number' && Number.isFinite(v)) ||
          box[2] < box[0] ||
          box[3] < box[1]
        ) {
          throw new UserError(`${path}: "${id}"[${k}] is not a box [x1, y1, x2, y2] with x1 <= x2 and y1 <= y2`);
        }
        return [box[0], box[1], box[2], box[3]] as Box;
      }),
    );
  }
  return out;
}

/** The proposals of `ids`, failing with one line that names the file and the ids it lacks. */
export function proposalsForIds(file: string, proposals: Map<string, Box[]>, ids: readonly string[]): Box[][] {
  const missing = ids.filter((id) => !proposals.has(id));
  if (missing.length > 0) {
    const shown = missing.slice(0, 5).join(', ') + (missing.length > 5 ? `, ... (${missing.length} in all)` : '');
    throw new UserError(`${file}: no proposals for image ${shown}; the file must have an entry for every image of the split`);
  }
  return ids.map((id) => proposals.get(id) as Box[]);
}

export interface WindowOptions {
  /** Smallest window side as a fraction of the image side. */
  minSide?: number;
  /** Largest ratio between consecutive window sides. */
  scaleStep?: number;
  /** Width / height ratios; each keeps the area of the square window. */
  aspectRatios?: readonly number[];
  /** Step between positions as a fraction of the window's own width / height. */
  stride?: number;
}

/**
 * Multi-scale sliding windows over a size x size image: the built-in stand-in
 * for selective search. The defaults give about 2000 windows at any size and
 * put a window with IoU >= 0.5 on nearly every box between 1/10 of the side
 * and the whole image with aspect ratio up to 4.
 */
export function slidingWindows(size: number, options: WindowOptions = {}): Box[] {
  const minSide = Math.max(4, (options.minSide ?? 0.12) * size);
  const step = options.scaleStep ?? 1.5;
  const ratios = options.aspectRatios ?? [0.5, 1, 2];
  const stride = options.stride ?? 0.4;
  // Evenly spread starts from 0 to size - len, so the last window touches the far edge.
  const starts = (len: number): number[] => {
    const n = Math.max(1, Math.ceil((size - len) / Math.max(1, stride * len)) + 1);
    return n === 1 ? [Math.floor((size - len) / 2)] : Array.from({ length: n }, (_, i) => Math.round((i * (size - len)) / (n - 1)));
  };
  const seen = new Set<string>();
  const out: Box[] = [];
  // Sides spread geometrically from minSide up to the whole image, about `step` apart.
  const scales = Math.max(1, Math.ceil(Math.log(size / minSide) / Math.log(step))) + 1;
  for (let k = 0; k < scales; k++) {
    const side = minSide * (size / minSide) ** (k / (scales - 1));
    for (const ratio of ratios) {
      const w = Math.min(size, Math.max(1, Math.round(side * Math.sqrt(ratio))));
      const h = Math.min(size, Math.max(1, Math.round(side / Math.sqrt(ratio))));
      for (const y of starts(h)) {
        for (const x of starts(w)) {
          const box: Box = [x, y, x + w - 1, y + h - 1];
          const key = box.join(',');
          if (seen.has(key)) continue;
          seen.add(key);
          out.push(box);
        }
      }
    }
  }
  return out;
}

/** Clips a box to a width x height image (0-based inclusive). */
export function clipBox(box: Box, width: number, height: number): Box {
  const cx = (v: number) => Math.min(Math.max(v, 0), width - 1);
  const cy = (v: number) => Math.min(Math.max(v, 0), height - 1);
  return [cx(box[0]), cy(box[1]), cx(box[2]), cy(box[3])];
}

/**
 * `count` random perturbations of each box (centre shifted up to 20% of the
 * side, sides scaled by up to e^±0.25), clipped to the image: training RoIs
 * near the objects, which the windows alone cover sparsely.
 */
export function jitterBoxes(boxes: readonly Box[], count: number, size: number, rng: Rng): Box[] {
  const out: Box[] = [];
  for (const b of boxes) {
    const w = b[2] - b[0] + 1;
    const h = b[3] - b[1] + 1;
    for (let k = 0; k < count; k++) {
      const cx = b[0] + w / 2 + rng.uniform(-0.2, 0.2) * w;
      const cy = b[1] + h / 2 + rng.uniform(-0.2, 0.2) * h;
      const nw = w * Math.exp(rng.uniform(-0.25, 0.25));
      const nh = h * Math.exp(rng.uniform(-0.25, 0.25));
      const x1 = Math.round(cx - nw / 2);
      const y1 = Math.round(cy - nh / 2);
      const box = clipBox([x1, y1, x1 + Math.max(1, Math.round(nw)) - 1, y1 + Math.max(1, Math.round(nh)) - 1], size, size);
      out.push(box);
    }
  }
  return out;
}

export interface GroundTruth {
  box: Box;
  /** 1-based class index (0 is background). */
  label: number;
}

export interface SampledRois {
  boxes: Box[];
  /** 0 for background, else the class (1-based) of the best-overlapping box. */
  labels: number[];
  /** Index into the ground truth of each foreground RoI's box, -1 for background. */
  gtIndex: number[];
}

export interface SampleOptions {
  roisPerImage: number;
  /** Fast R-CNN: 0.25. */
  fgFraction?: number;
  /** IoU at or above which a RoI is foreground (0.5). */
  fgThreshold?: number;
  /** Background IoU range [bgLow, fgThreshold); Fast R-CNN: 0.1. */
  bgLow?: number;
}

/**
 * Fast R-CNN's minibatch sampling for one image: up to fgFraction of the RoIs
 * from candidates with IoU >= 0.5 to a ground-truth box, the rest from those
 * with IoU in [0.1, 0.5) (or [0, 0.5) when none is that close), all without
 * replacement. Fewer RoIs come back when the candidates run out.
 */
export function sampleRois(candidates: readonly Box[], truth: readonly GroundTruth[], options: SampleOptions, rng: Rng): SampledRois {
  const fgThreshold = options.fgThreshold ?? 0.5;
  const bgLow = options.bgLow ?? 0.1;
  const best = new Float64Array(candidates.length);
  const arg = new Int32Array(candidates.length).fill(-1);
  candidates.forEach((c, i) => {
    truth.forEach((t, j) => {
      const iou = boxIoU(c, t.box);
      if (iou > best[i]) {
        best[i] = iou;
        arg[i] = j;
      }
    });
  });
  const all = candidates.map((_, i) => i);
  const fg = all.filter((i) => best[i] >= fgThreshold);
  let bg = all.filter((i) => best[i] < fgThreshold && best[i] >= bgLow);
  if (bg.length === 0) bg = all.filter((i) => best[i] < fgThreshold);
  const fgCount = Math.min(Math.round(options.roisPerImage * (options.fgFraction ?? 0.25)), fg.length);
  const bgCount = Math.min(options.roisPerImage - fgCount, bg.length);
  const fgPick = rng.shuffle(fg).slice(0, fgCount);
  const bgPick = rng.shuffle(bg).slice(0, bgCount);
  return {
    boxes: [...fgPick, ...bgPick].map((i) => candidates[i]),
    labels: [...fgPick.map((i) => truth[arg[i]].label), ...bgPick.map(() => 0)],
    gtIndex: [...fgPick.map((i) => arg[i]), ...bgPick.map(() => -1)],
  };
}
