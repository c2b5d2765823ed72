/**
 * Non-square images end to end: segmentation scores a non-square dataset as
 * well as the same data made square; detection boxes land on their objects in
 * the network's input and map back to the original pixels exactly;
 * inpainting's centre hole covers the centre of the original image.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { after, before, describe, it } from 'mocha';
import { loadImageBank } from '../../src/data/batches.js';
import { letterbox, letterboxLabels } from '../../src/data/geometry.js';
import { loadImage, loadImageLetterboxed } from '../../src/data/image.js';
import { makeMask } from '../../src/data/masks.js';
import { encodePalettePng } from '../../src/data/palette.js';
import { netToVoc, vocToNet } from '../../src/downstream/detection.js';
import { unletterboxLogits } from '../../src/downstream/segmentation.js';
import { initBackend } from '../../src/engine/backend.js';
import { Rng } from '../../src/engine/random.js';
import type { Box } from '../../src/metrics/index.js';
import { downstreamConfig, pretextConfig } from '../helpers/config.js';
import { runTask, trainPretext } from '../helpers/stages.js';

type Rgb = [number, number, number];
const BACKGROUND: Rgb = [128, 128, 128];
/** Label k's colour is COLOURS[k]: the label map is a pure function of pixel colour. */
const COLOURS: Rgb[] = [BACKGROUND, [230, 30, 30], [30, 30, 230]];

interface Rect {
  /** Fractions of the width and height. */
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  label: number;
}

/** Paints rects over the background on a width x height canvas; `padTo` extends it with background to a square. */
function render(rects: Rect[], width: number, height: number, padTo?: number): { rgb: Uint8Array; labels: Uint8Array; width: number; height: number } {
  const side = padTo ?? 0;
  const outW = Math.max(width, side);
  const outH = Math.max(height, side);
  const offX = Math.floor((outW - width) / 2);
  const offY = Math.floor((outH - height) / 2);
  const labels = new Uint8Array(outW * outH);
  for (const r of rects) {
    for (let y = Math.round(r.y0 * height); y < Math.round(r.y1 * height); y++) {
      for (let x = Math.round(r.x0 * width); x < Math.round(r.x1 * width); x++) labels[(y + offY) * outW + x + offX] = r.label;
    }
  }
  const rgb = new Uint8Array(outW * outH * 3);
  labels.forEach((l, i) => rgb.set(COLOURS[l], i * 3));
  return { rgb, labels, width: outW, height: outH };
}

/** A VOC-layout segmentation dataset (2 classes); images are lossless PNG bytes under JPEGImages/<id>.jpg. */
async function writeColourDataset(root: string, square: boolean): Promise<void> {
  const rng = new Rng(17);
  for (const d of ['JPEGImages', 'SegmentationClass', 'ImageSets/Main', 'ImageSets/Segmentation']) await mkdir(join(root, d), { recursive: true });
  const splits: Record<string, string[]> = { train: [], val: [] };
  for (let i = 0; i < 36; i++) {
    const id = String(i + 1).padStart(6, '0');
    const landscape = rng.next() < 0.6;
    const [width, height] = landscape ? [160, 96] : [96, 160];
    const rects: Rect[] = [1, 2].map((label) => {
      const w = rng.uniform(0.3, 0.5);
      const h = rng.uniform(0.3, 0.5);
      const x0 = rng.uniform(0, 1 - w);
      const y0 = rng.uniform(0, 1 - h);
      return { x0, y0, x1: x0 + w, y1: y0 + h, label };
    });
    const scene = render(rects, width, height, square ? 160 : undefined);
    const png = await sharp(scene.rgb, { raw: { width: scene.width, height: scene.height, channels: 3 } }).png().toBuffer();
    await writeFile(join(root, 'JPEGImages', `${id}.jpg`), png);
    await writeFile(join(root, 'SegmentationClass', `${id}.png`), encodePalettePng({ width: scene.width, height: scene.height, labels: scene.labels }));
    (i < 24 ? splits.train : splits.val).push(id);
  }
  for (const [split, ids] of Object.entries(splits)) {
    await writeFile(join(root, 'ImageSets', 'Segmentation', `${split}.txt`), ids.map((id) => `${id}\n`).join(''));
    // The random pretext job scores held-out images of the Main test split.
    await writeFile(join(root, 'ImageSets', 'Main', `${split === 'val' ? 'test' : split}.txt`), ids.map((id) => `${id}\n`).join(''));
    for (const cls of ['aeroplane', 'bicycle']) await writeFile(join(root, 'ImageSets', 'Main', `${cls}_${split}.txt`), ids.map((id) => `${id}  1\n`).join(''));
  }
}

describe('non-square geometry (wasm)', function () {
  let root: string;

  before(async () => {
    await initBackend('wasm');
    root = await mkdtemp(join(tmpdir(), 'ceb-geometry-'));
  });

  after(() => rm(root, { recursive: true, force: true }));

  it('letterboxing keeps the aspect, centres the image and carries labels with it; padding is void', () => {
    const box = letterbox(160, 96, 100);
    assert.deepEqual(box, { size: 100, width: 160, height: 96, contentWidth: 100, contentHeight: 60, left: 0, top: 20 });
    assert.deepEqual(letterbox(96, 160, 100), { size: 100, width: 96, height: 160, contentWidth: 60, contentHeight: 100, left: 20, top: 0 });
    // 4 x 2 map, left half 1, right half 2, into a 4 x 4 square: rows 1 and 2 carry it, rows 0 and 3 are void.
    const labels = Uint8Array.from([1, 1, 2, 2, 1, 1, 2, 2]);
    const out = letterboxLabels(labels, letterbox(4, 2, 4));
    assert.deepEqual([...out], [255, 255, 255, 255, 1, 1, 2, 2, 1, 1, 2, 2, 255, 255, 255, 255]);
  });

  it('letterboxed pixels and labels stay aligned, and predictions map back onto the original pixels', async () => {
    const rects: Rect[] = [{ x0: 0.1, y0: 0.2, x1: 0.4, y1: 0.9, label: 1 }, { x0: 0.6, y0: 0.1, x1: 0.95, y1: 0.5, label: 2 }];
    const scene = render(rects, 200, 120);
    const path = join(root, 'aligned.png');
    await sharp(scene.rgb, { raw: { width: 200, height: 120, channels: 3 } }).png().toFile(path);
    const { image, box } = await loadImageLetterboxed(path, 100);
    const squareLabels = letterboxLabels(scene.labels, box);
    // Every labelled pixel of the square shows its class's colour (edge pixels of a rect may blend).
    let agree = 0;
    let labelled = 0;
    for (let p = 0; p < 100 * 100; p++) {
      const label = squareLabels[p];
      if (label === 255) continue;
      labelled++;
      const rgb = [0, 1, 2].map((c) => (image.data[p * 3 + c] + 1) * 127.5);
      const nearest = COLOURS.map((col) => col.reduce((s, v, c) => s + (v - rgb[c]) ** 2, 0));
      if (nearest.indexOf(Math.min(...nearest)) === label) agree++;
    }
    assert.equal(labelled, 100 * 60);
    assert.ok(agree / labelled > 0.98, `${agree} of ${labelled} pixels show their label's colour`);
    // One-hot logits of the square's labels, mapped back, reproduce the original label map.
    const logits = tf.oneHot(tf.tensor1d(Int32Array.from(squareLabels, (l) => (l === 255 ? 0 : l)), 'int32'), 3).reshape([1, 100, 100, 3]) as tf.Tensor4D;
    const back = unletterboxLogits(logits, box);
    assert.deepEqual(back.shape, [1, 120, 200, 3]);
    const predicted = back.argMax(-1).dataSync();
    let same = 0;
    predicted.forEach((v, i) => (same += v === scene.labels[i] ? 1 : 0));
    assert.ok(same / predicted.length > 0.98, `${same} of ${predicted.length} pixels map back to their label`);
    tf.dispose([logits, back]);
  });

  it('segmentation of a non-square dataset scores within 2 points of the same data made square (1x1 head on conv1)', async function () {
    this.timeout(240_000);
    const pretextDir = join(root, 'pretext');
    const model = { inputSize: 99, widthMultiplier: 0.25 };
    const results: number[] = [];
    for (const square of [false, true]) {
      const dataset = { format: 'voc' as const, root: join(root, square ? 'square' : 'non-square') };
      await writeColourDataset(dataset.root, square);
      if (!square) await trainPretext({ config: pretextConfig({ method: 'random', heldoutImages: 2 }), model, dataset, seed: 2, outDir: pretextDir });
      const config = downstreamConfig({ task: 'segmentation', trainSplit: 'train', testSplit: 'val', layer: 'conv1', steps: 80, batchSize: 8, lr: 0.01, headWidths: [16] });
      const out = await runTask({
        config: { ...config, dataset: 'd' },
        protocol: 'frozen',
        dataset,
        seed: 3,
        method: 'random',
        encoderDir: join(pretextDir, 'checkpoint'),
        generatorDir: join(pretextDir, 'generator'),
        outDir: join(root, `out-${square}`),
      });
      results.push(out.summary.meanIU);
    }
    const [nonSquare, squared] = results;
    assert.ok(squared > 0.8, `the square data is learnable: mean IU ${squared}`);
    assert.ok(Math.abs(nonSquare - squared) <= 0.02, `non-square ${nonSquare} vs square ${squared}`);
  });

  it('detection: a box lands on its object in the stretched input and maps back to the original pixels exactly', async () => {
    const [width, height, size] = [210, 130, 99];
    // VOC 1-based inclusive box of a red rectangle.
    const voc: Box = [41, 21, 120, 90];
    const rgb = new Uint8Array(width * height * 3).fill(128);
    for (let y = voc[1] - 1; y <= voc[3] - 1; y++) for (let x = voc[0] - 1; x <= voc[2] - 1; x++) rgb.set([230, 30, 30], (y * width + x) * 3);
    const path = join(root, 'detection.png');
    await sharp(rgb, { raw: { width, height, channels: 3 } }).png().toFile(path);
    const [sx, sy] = [size / width, size / height];
    const net = vocToNet(voc, sx, sy);
    const back = netToVoc(net, sx, sy, width, height);
    back.forEach((v, k) => assert.ok(Math.abs(v - voc[k]) < 1e-9, `coordinate ${k}: ${v} vs ${voc[k]}`));
    // The red pixels of the network's input span the mapped box, to within a pixel of resampling.
    const image = await loadImage(path, { size, fit: 'resize' });
    let [x0, y0, x1, y1] = [size, size, -1, -1];
    for (let p = 0; p < size * size; p++) {
      // More than half red: the pixel's centre lies inside the resampled rectangle.
      const red = image.data[p * 3] - image.data[p * 3 + 2] > (230 - 30) / 127.5 / 2;
      if (!red) continue;
      const [x, y] = [p % size, Math.floor(p / size)];
      [x0, y0, x1, y1] = [Math.min(x0, x), Math.min(y0, y), Math.max(x1, x), Math.max(y1, y)];
    }
    [x0, y0, x1, y1].forEach((v, k) => assert.ok(Math.abs(v - net[k]) <= 1, `input box ${[x0, y0, x1, y1]} vs mapped ${net.map((n) => n.toFixed(1))}`));
  });

  it('inpainting: the centre hole of a non-square image covers the centre of the original', async () => {
    const [width, height, size] = [200, 120, 64];
    // Cover keeps the centre 120 x 120 square; the centre hole is its middle half on each axis.
    const rgb = new Uint8Array(width * height * 3).fill(128);
    const [hx0, hx1, hy0, hy1] = [40 + 30, 40 + 90, 30, 90];
    for (let y = hy0; y < hy1; y++) for (let x = hx0; x < hx1; x++) rgb.set([230, 30, 230], (y * width + x) * 3);
    const path = join(root, 'inpaint.png');
    await sharp(rgb, { raw: { width, height, channels: 3 } }).png().toFile(path);
    const bank = await loadImageBank([path], size, 'cover');
    const mask = makeMask(size, new Rng(1), { kind: 'center' });
    let inside = 0;
    let magentaInside = 0;
    let magentaOutside = 0;
    for (let p = 0; p < size * size; p++) {
      const magenta = bank.images[0][p * 3] > 0.5 && bank.images[0][p * 3 + 1] < -0.5;
      if (mask.fill[p] > 0) {
        inside++;
        if (magenta) magentaInside++;
      } else if (magenta && mask.weight[p] === 0) magentaOutside++;
    }
    assert.ok(inside > 0);
    assert.equal(magentaInside, inside, 'every hole pixel is the original centre');
    // Outside the predicted region (hole + overlap band), at most a resampled edge row or column of magenta.
    assert.ok(magentaOutside <= 4 * 32, `${magentaOutside} magenta pixels outside the predicted region`);
  });
});
