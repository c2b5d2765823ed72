import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { Rng } from '../../src/engine/random.js';
import { UserError } from '../../src/errors.js';
import { DATASET_MEAN_RGB } from '../../src/data/image.js';
import {
  OVERLAP_WEIGHT,
  applyMask,
  fullImageMask,
  makeMask,
  segmentationShapes,
  type Mask,
} from '../../src/data/masks.js';
import { writePalettePng } from '../../src/data/palette.js';
import { openDataset } from '../../src/data/formats/index.js';

function count(values: Float32Array, v: number): number {
  let n = 0;
  for (const x of values) if (x === v) n++;
  return n;
}

/** Brute-force check of the band: weight 10 exactly on non-hole pixels within Chebyshev distance r of the hole. */
function assertBand(mask: Mask, r: number): void {
  const { size, fill, weight } = mask;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const i = y * size + x;
      if (fill[i] === 1) {
        assert.equal(weight[i], 1);
        continue;
      }
      let near = false;
      for (let dy = -r; dy <= r && !near; dy++) {
        for (let dx = -r; dx <= r && !near; dx++) {
          const yy = y + dy;
          const xx = x + dx;
          if (yy >= 0 && xx >= 0 && yy < size && xx < size && fill[yy * size + xx] === 1) near = true;
        }
      }
      assert.equal(weight[i], near ? OVERLAP_WEIGHT : 0, `pixel ${x},${y}`);
    }
  }
}

describe('data/masks', () => {
  it('centre mask: quarter-area region, hole shrunk by the overlap', () => {
    const m = makeMask(16, new Rng(1), { kind: 'center', overlapPx: 2 });
    assert.equal(OVERLAP_WEIGHT, 10);
    // Region 8x8 at [4, 12); hole 4x4 at [6, 10); band 64 - 16 = 48 pixels.
    assert.equal(count(m.fill, 1), 16);
    assert.equal(count(m.weight, 1), 16);
    assert.equal(count(m.weight, 10), 48);
    assert.equal(count(m.weight, 0), 256 - 64);
    assert.equal(m.fill[6 * 16 + 6], 1);
    assert.equal(m.fill[9 * 16 + 9], 1);
    assert.equal(m.fill[5 * 16 + 6], 0);
    assert.equal(m.weight[5 * 16 + 6], 10);
    assert.equal(m.weight[4 * 16 + 4], 10);
    assert.equal(m.weight[3 * 16 + 4], 0);
    assert.equal(m.weight[12 * 16 + 12], 0);
  });

  it('centre mask at 128 px matches train.lua (64 px region, 56 px hole with overlap 4)', () => {
    const m = makeMask(128, new Rng(1), { kind: 'center' });
    assert.equal(count(m.fill, 1), 56 * 56);
    assert.equal(count(m.weight, 10), 64 * 64 - 56 * 56);
    assert.equal(m.fill[36 * 128 + 36], 1);
    assert.equal(m.fill[35 * 128 + 36], 0);
    assert.equal(m.fill[91 * 128 + 91], 1);
    assert.equal(m.fill[92 * 128 + 91], 0);
    assertBand(m, 4);
  });

  it('rejects an overlap that leaves no hole', () => {
    assert.throws(() => makeMask(16, new Rng(1), { kind: 'center', overlapPx: 4 }), UserError);
    assert.throws(() => makeMask(16, new Rng(1), { kind: 'random-block', holeFraction: 1.5 }), UserError);
  });

  for (const kind of ['random-block', 'random-region'] as const) {
    it(`${kind}: hole covers close to, never more than, holeFraction; band of width overlapPx`, () => {
      const size = 64;
      for (const holeFraction of [0.25, 0.1]) {
        for (let seed = 0; seed < 12; seed++) {
          const m = makeMask(size, new Rng(seed), { kind, holeFraction, overlapPx: 3 });
          const fraction = count(m.fill, 1) / (size * size);
          assert.ok(fraction <= holeFraction, `seed ${seed}: ${fraction} > ${holeFraction}`);
          assert.ok(fraction >= holeFraction - 0.03, `seed ${seed}: ${fraction} too small`);
          assert.ok(count(m.weight, 10) > 0);
          if (seed === 0) assertBand(m, 3);
        }
      }
    });

    it(`${kind}: same seed, same mask; other seed, other mask`, () => {
      const a = makeMask(48, new Rng(7), { kind });
      const b = makeMask(48, new Rng(7), { kind });
      const c = makeMask(48, new Rng(8), { kind });
      assert.deepEqual(a, b);
      assert.notDeepEqual(a.fill, c.fill);
    });
  }

  it('random-region draws its holes from the given shapes', () => {
    // A ring: pasted copies enclose visible pixels, which blocks and blobs rarely do.
    const side = 20;
    const ring = new Uint8Array(side * side);
    for (let y = 0; y < side; y++) {
      for (let x = 0; x < side; x++) {
        const r2 = (x - 9.5) ** 2 + (y - 9.5) ** 2;
        ring[y * side + x] = r2 >= 25 && r2 <= 81 ? 1 : 0;
      }
    }
    const size = 64;
    const m = makeMask(size, new Rng(3), { kind: 'random-region', shapes: [ring], shapeSize: side, overlapPx: 0 });
    const fraction = count(m.fill, 1) / (size * size);
    assert.ok(fraction > 0.2 && fraction <= 0.25, `fraction ${fraction}`);
    assert.equal(count(m.weight, 10), 0);
    // Flood the visible pixels from the border; what stays unreached is enclosed by the hole.
    const reached = new Uint8Array(size * size);
    const stack: number[] = [];
    for (let i = 0; i < size; i++) stack.push(i, (size - 1) * size + i, i * size, i * size + size - 1);
    while (stack.length > 0) {
      const i = stack.pop() as number;
      if (reached[i] || m.fill[i] === 1) continue;
      reached[i] = 1;
      const x = i % size;
      const y = Math.floor(i / size);
      if (x > 0) stack.push(i - 1);
      if (x < size - 1) stack.push(i + 1);
      if (y > 0) stack.push(i - size);
      if (y < size - 1) stack.push(i + size);
    }
    let enclosed = 0;
    for (let i = 0; i < size * size; i++) if (!reached[i] && m.fill[i] === 0) enclosed++;
    assert.ok(enclosed > 50, `enclosed ${enclosed}`);
  });

  it('fullImageMask hides nothing and weights everything 1', () => {
    const m = fullImageMask(5);
    assert.equal(count(m.fill, 0), 25);
    assert.equal(count(m.weight, 1), 25);
  });

  it('applyMask fills the hole with the dataset mean colour and leaves the input alone', () => {
    const m = makeMask(16, new Rng(1), { kind: 'center', overlapPx: 2 });
    const image = Float32Array.from({ length: 16 * 16 * 3 }, (_, i) => ((i % 7) - 3) / 3);
    const before = Float32Array.from(image);
    const out = applyMask(image, m);
    assert.deepEqual(image, before);
    const mean = DATASET_MEAN_RGB.map((c) => Math.fround((2 * c) / 255 - 1));
    const hole = 7 * 16 + 8;
    assert.deepEqual([...out.subarray(hole * 3, hole * 3 + 3)], mean);
    const band = 5 * 16 + 8;
    assert.deepEqual([...out.subarray(band * 3, band * 3 + 3)], [...image.subarray(band * 3, band * 3 + 3)]);
    let changed = 0;
    for (let i = 0; i < image.length; i++) if (out[i] !== image[i]) changed++;
    assert.ok(changed <= 16 * 3);
  });

  describe('segmentationShapes', () => {
    let root: string;
    before(async () => {
      root = await mkdtemp(join(tmpdir(), 'shapes-'));
      await mkdir(join(root, 'JPEGImages'), { recursive: true });
      await mkdir(join(root, 'ImageSets', 'Segmentation'), { recursive: true });
      await writeFile(join(root, 'ImageSets', 'Segmentation', 'train.txt'), 'a\n');
      // 40x40: class 3 fills x 5..24, y 10..19 inside a void ring; class 5 is two pixels (too small to keep).
      const labels = new Uint8Array(40 * 40);
      for (let y = 9; y <= 20; y++) for (let x = 4; x <= 25; x++) labels[y * 40 + x] = 255;
      for (let y = 10; y <= 19; y++) for (let x = 5; x <= 24; x++) labels[y * 40 + x] = 3;
      labels[35 * 40 + 35] = 5;
      labels[35 * 40 + 36] = 5;
      await mkdir(join(root, 'SegmentationClass'));
      await writePalettePng(join(root, 'SegmentationClass', 'a.png'), { width: 40, height: 40, labels });
      await sharp({ create: { width: 40, height: 40, channels: 3, background: '#808080' } }).jpeg().toFile(join(root, 'JPEGImages', 'a.jpg'));
    });
    after(async () => {
      await rm(root, { recursive: true, force: true });
    });

    it('crops each class region to its box and fits it, aspect kept, into size x size', async () => {
      const [sample] = await (await openDataset({ format: 'voc', root })).list('train', { with: 'labelMaps' });
      const shapes = await segmentationShapes([sample], 16);
      assert.equal(shapes.length, 1);
      const s = shapes[0];
      // 20x10 box -> 16x8, centred: rows 4..11 set, the rest clear.
      for (let y = 0; y < 16; y++) {
        for (let x = 0; x < 16; x++) assert.equal(s[y * 16 + x], y >= 4 && y < 12 ? 1 : 0, `${x},${y}`);
      }
      assert.equal((await segmentationShapes([sample], 16, 0)).length, 0);
    });
  });
});
