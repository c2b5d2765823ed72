import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { after, before, describe, it } from 'mocha';
import { cropBatch, EpochSampler, loadImageBank } from '../../src/data/batches.js';
import { type ImageSource } from '../../src/data/image.js';
import { readableSources, StreamingCropLoader } from '../../src/data/loader.js';
import { BadSamples } from '../../src/data/samples.js';
import { Rng } from '../../src/engine/random.js';
import { UserError } from '../../src/errors.js';

/** Non-square JPEGs of seeded noise blobs, so every crop offset and mirror gives different pixels. */
async function writeImages(dir: string, n: number): Promise<string[]> {
  const rng = new Rng(9);
  const paths: string[] = [];
  for (let i = 0; i < n; i++) {
    const [width, height] = rng.next() < 0.5 ? [90, 60] : [60, 90];
    const rgb = new Uint8Array(width * height * 3);
    for (let p = 0; p < rgb.length; p++) rgb[p] = rng.int(256);
    const path = join(dir, `${String(i).padStart(4, '0')}.jpg`);
    await sharp(rgb, { raw: { width, height, channels: 3 } }).blur(1.5).jpeg({ quality: 90 }).toFile(path);
    paths.push(path);
  }
  return paths;
}

describe('data/loader: streaming crops', () => {
  let dir: string;
  let paths: string[];
  const loadSize = 40;
  const crop = 32;
  const batchSize = 5;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ceb-loader-'));
    paths = await writeImages(dir, 12);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  function loader(sources: (string | ImageSource)[], seed: number, prefetch = 3, bad = new BadSamples()): StreamingCropLoader {
    const rng = new Rng(seed);
    return new StreamingCropLoader(sources, { loadSize, crop, batchSize, prefetch }, new EpochSampler(sources.length, rng.fork('order')), rng.fork('crops'), bad);
  }

  it('gives the same batches as the in-memory path for the same seed (across epochs)', async () => {
    const bank = await loadImageBank(paths, loadSize, 'cover');
    const rng = new Rng(4);
    const sampler = new EpochSampler(paths.length, rng.fork('order'));
    const crops = rng.fork('crops');
    const streamed = loader(paths, 4);
    for (let step = 0; step < 6; step++) {
      const indices = sampler.take(batchSize);
      const expected = cropBatch(bank, indices, crop, crops);
      const got = await streamed.next();
      assert.deepEqual(got.indices, indices, `step ${step}`);
      assert.ok(got.images.every((v, i) => v === expected[i]), `step ${step}: pixels differ`);
    }
    const other = await loader(paths, 5).next();
    assert.notDeepEqual(other.indices, (await loader(paths, 4).next()).indices);
  });

  it('keeps at most `prefetch` batches scheduled and decodes at most that many batches of images at once', async () => {
    let inFlight = 0;
    let peak = 0;
    // A slow source: decoding is far slower than the consumer, the case where an unbounded queue would grow.
    const slow = paths.map((p): ImageSource => ({
      source: p,
      image: async () => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        await new Promise((r) => setTimeout(r, 5));
        inFlight--;
        return p;
      },
    }));
    const l = loader(slow, 1, 2);
    for (let i = 0; i < 8; i++) {
      await l.next();
      assert.equal(l.scheduled, 2);
    }
    assert.ok(l.peakDecodedImages <= 2 * batchSize + batchSize, `peak decoded ${l.peakDecodedImages}`);
    assert.ok(peak <= 3 * batchSize, `peak reads ${peak}`);
  });

  it('holds the same number of decoded images for a dataset ten times larger', async () => {
    const peakOver = async (n: number): Promise<number> => {
      const l = loader(Array.from({ length: n }, (_, i) => paths[i % paths.length]), 3, 2);
      for (let i = 0; i < 6; i++) await l.next();
      return l.peakDecodedImages;
    };
    const small = await peakOver(12);
    assert.equal(await peakOver(120), small);
    assert.ok(small <= 3 * batchSize);
  });

  it('a checkpoint taken mid-stream resumes with the batches the uninterrupted run sees next', async () => {
    const a = loader(paths, 8);
    for (let i = 0; i < 3; i++) await a.next();
    const saved = { sampler: a.samplerStream.getState(), crops: a.cropStream.getState() };
    const next = [await a.next(), await a.next()];
    const b = loader(paths, 8);
    b.samplerStream.setState(saved.sampler);
    b.cropStream.setState(saved.crops);
    for (const expected of next) {
      const got = await b.next();
      assert.deepEqual(got.indices, expected.indices);
      assert.deepEqual(got.images, expected.images);
    }
  });

  it('a file that fails to decode stops at the batch that holds it, naming it; under skip it is left out up front', async () => {
    const broken = join(dir, 'broken.jpg');
    await writeFile(broken, 'not a jpeg');
    const sources = [...paths.slice(0, 4), broken];
    const l = loader(sources, 2, 1);
    await assert.rejects(
      (async () => {
        for (let i = 0; i < 4; i++) await l.next();
      })(),
      (err: unknown) => err instanceof UserError && err.message.startsWith(broken) && /onBadSample/.test(err.message),
    );
    const bad = new BadSamples('skip');
    const kept = await readableSources(sources, bad);
    assert.deepEqual(kept, paths.slice(0, 4));
    assert.equal(bad.skipped.length, 1);
  });
});
