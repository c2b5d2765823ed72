/**
 * Scale augmentation of training crops: the factors drawn span the range and
 * repeat with the seed, no range means exactly the one-scale draws, and the
 * streamed crops really are of the image at the drawn scale (measured on a
 * ramp image, whose slope in a crop is inversely proportional to the side
 * the image was decoded at).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { after, before, describe, it } from 'mocha';
import { EpochSampler } from '../../src/data/batches.js';
import { DATASET_MEAN_RGB } from '../../src/data/image.js';
import { StreamingCropLoader } from '../../src/data/loader.js';
import { BadSamples } from '../../src/data/samples.js';
import { drawView, type ScaledView } from '../../src/data/scale-augment.js';
import { Rng } from '../../src/engine/random.js';

const loadSize = 40;
const crop = 32;

function views(seed: number, n: number, range?: [number, number]): ScaledView[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => drawView(rng, loadSize, crop, range));
}

describe('data/scale-augment: random-scale training crops', () => {
  let dir: string;
  let ramp: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ceb-scale-'));
    // 120 x 120, red = 2x and green = 2y (0..238), lossless: a crop's slope tells the scale it was decoded at.
    const side = 120;
    const rgb = new Uint8Array(side * side * 3);
    for (let y = 0; y < side; y++) {
      for (let x = 0; x < side; x++) rgb.set([2 * x, 2 * y, 128], (y * side + x) * 3);
    }
    ramp = join(dir, 'ramp.png');
    await sharp(rgb, { raw: { width: side, height: side, channels: 3 } }).png().toFile(ramp);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('draws factors that span [0.5, 2] uniformly, the same for the same seed, with crops inside reach of the image', () => {
    const drawn = views(3, 2000, [0.5, 2]);
    const scales = drawn.map((v) => v.scale);
    assert.ok(scales.every((s) => s >= 0.5 && s < 2));
    assert.ok(Math.min(...scales) < 0.502 && Math.max(...scales) > 1.998, `range ${Math.min(...scales)}..${Math.max(...scales)}`);
    const mean = scales.reduce((a, b) => a + b, 0) / scales.length;
    assert.ok(Math.abs(mean - 1.25) < 0.03, `mean ${mean}`);
    // A quarter of the range each quarter, within sampling noise.
    for (let q = 0; q < 4; q++) {
      const share = scales.filter((s) => s >= 0.5 + q * 0.375 && s < 0.875 + q * 0.375).length / scales.length;
      assert.ok(Math.abs(share - 0.25) < 0.04, `quarter ${q}: ${share}`);
    }
    for (const v of drawn) {
      assert.equal(v.side, Math.round(v.scale * loadSize));
      // The crop lies inside the square, or (square smaller than the crop) holds all of it.
      const [lo, hi] = [Math.min(0, v.side - crop), Math.max(0, v.side - crop)];
      assert.ok(v.y >= lo && v.y <= hi && v.x >= lo && v.x <= hi, JSON.stringify(v));
    }
    assert.deepEqual(views(3, 50, [0.5, 2]), drawn.slice(0, 50));
    assert.notDeepEqual(views(4, 50, [0.5, 2]), drawn.slice(0, 50));
    assert.ok(drawn.some((v) => v.mirror) && drawn.some((v) => !v.mirror));
  });

  it('without a range draws exactly what the one-scale crop draws (y, x, mirror)', () => {
    const rng = new Rng(5);
    const room = loadSize - crop + 1;
    const want = Array.from({ length: 20 }, () => ({ scale: 1, side: loadSize, y: rng.int(room), x: rng.int(room), mirror: rng.next() < 0.5 }));
    assert.deepEqual(views(5, 20), want);
  });

  it('streams crops of the image at the drawn scale, padded with the mean colour where it does not reach', async () => {
    const sources = Array.from({ length: 6 }, () => ramp);
    const batchSize = 3;
    const loader = new StreamingCropLoader(sources, { loadSize, crop, batchSize, prefetch: 2, scale: [0.5, 2] }, new EpochSampler(6, new Rng(1)), new Rng(7), new BadSamples());
    // The loader draws every image's view from its crop stream in batch order: the same stream replayed gives them.
    const expected = views(7, 10 * batchSize, [0.5, 2]);
    const pad = DATASET_MEAN_RGB.map((v) => Math.fround(v / 127.5 - 1));
    const at = (img: Float32Array, b: number, y: number, x: number, ch: number) => img[b * crop * crop * 3 + (y * crop + x) * 3 + ch];
    let padded = 0;
    for (let step = 0; step < 10; step++) {
      const { images } = await loader.next();
      for (let b = 0; b < batchSize; b++) {
        const v = expected[step * batchSize + b];
        // The crop's rows and columns that fall inside the image, 2 px away from its edges (resampling rings there).
        const inside = (o: number) => Array.from({ length: crop }, (_, i) => i).filter((i) => o + i >= 2 && o + i < v.side - 2);
        const rows = inside(v.y);
        const cols = Array.from({ length: crop }, (_, i) => i).filter((i) => {
          const sx = v.mirror ? v.x + crop - 1 - i : v.x + i;
          return sx >= 2 && sx < v.side - 2;
        });
        const [r0, r1, c0, c1] = [rows[0], rows[rows.length - 1], cols[0], cols[cols.length - 1]];
        // Red rises 240 levels across the image's width: 240 / side levels a pixel of the decoded square; green the same down its height.
        const red = (at(images, b, r0, c1, 0) - at(images, b, r0, c0, 0)) * 127.5 / (c1 - c0);
        const green = (at(images, b, r1, c0, 1) - at(images, b, r0, c0, 1)) * 127.5 / (r1 - r0);
        const what = `step ${step} image ${b} (${JSON.stringify(v)})`;
        assert.ok(Math.abs(Math.abs(red) - 240 / v.side) < 0.04 * (240 / v.side), `${what}: red slope ${red}`);
        assert.ok(Math.abs(green - 240 / v.side) < 0.04 * (240 / v.side), `${what}: green slope ${green}`);
        assert.equal(Math.sign(red), v.mirror ? -1 : 1, `${what}: mirrored`);
        if (v.side < crop) {
          padded++;
          // Outside the rescaled image (the first row when it starts below it, else the last): exactly the mean colour.
          const outside = v.y < 0 ? 0 : crop - 1;
          assert.deepEqual([0, 1, 2].map((ch) => at(images, b, outside, 0, ch)), pad, what);
        }
      }
    }
    assert.ok(padded > 0 && expected.some((v) => v.scale > 1.5), 'the seed covers small (padded) and large scales');
    await loader.close();
  });
});
