import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { UserError } from '../../src/errors.js';
import { imageSize, loadImage, loadImageRegion, savePng, toUint8 } from '../../src/data/image.js';

async function writeRaw(path: string, width: number, height: number, channels: 1 | 2 | 3 | 4, data: number[]): Promise<void> {
  await sharp(Buffer.from(data), { raw: { width, height, channels } }).png().toFile(path);
}

/** width x height RGB image, every pixel `bg` except the given ones. */
function rgbPixels(width: number, height: number, bg: number[], set: Record<string, number[]>): number[] {
  const out: number[] = [];
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) out.push(...(set[`${x},${y}`] ?? bg));
  return out;
}

function pixel(img: { data: Float32Array; width: number }, x: number, y: number): number[] {
  const o = (y * img.width + x) * 3;
  return [img.data[o], img.data[o + 1], img.data[o + 2]];
}

describe('data/image', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'image-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('decodes a PNG to HWC floats in [-1, 1] with a known pixel', async () => {
    const path = join(dir, 'known.png');
    await writeRaw(path, 4, 4, 3, rgbPixels(4, 4, [0, 0, 0], { '1,2': [255, 0, 128] }));
    const img = await loadImage(path, { size: 4 });
    assert.equal(img.width, 4);
    assert.equal(img.height, 4);
    assert.equal(img.channels, 3);
    assert.equal(img.data.length, 48);
    assert.deepEqual(pixel(img, 1, 2), [1, -1, Math.fround(128 / 127.5 - 1)]);
    assert.deepEqual(pixel(img, 0, 0), [-1, -1, -1]);
  });

  it('turns greyscale into RGB and drops alpha', async () => {
    const grey = join(dir, 'grey.png');
    await writeRaw(grey, 2, 2, 1, [0, 51, 102, 255]);
    const g = await loadImage(grey, { size: 2 });
    assert.deepEqual(pixel(g, 1, 0), [51 / 127.5 - 1, 51 / 127.5 - 1, 51 / 127.5 - 1].map(Math.fround));
    const rgba = join(dir, 'rgba.png');
    await writeRaw(rgba, 2, 2, 4, [10, 20, 30, 0, 200, 100, 50, 255, 0, 0, 0, 128, 255, 255, 255, 255]);
    const a = await loadImage(rgba, { size: 2 });
    assert.equal(a.data.length, 2 * 2 * 3);
    assert.deepEqual(pixel(a, 1, 0), [200, 100, 50].map((c) => Math.fround(c / 127.5 - 1)));
  });

  it('stretches with resize and keeps the centre with center-crop', async () => {
    const path = join(dir, 'wide.png');
    // 8x4: columns 0-1 red, 2-5 green, 6-7 blue.
    const data: number[] = [];
    for (let y = 0; y < 4; y++) {
      for (let x = 0; x < 8; x++) data.push(...(x < 2 ? [255, 0, 0] : x < 6 ? [0, 255, 0] : [0, 0, 255]));
    }
    await writeRaw(path, 8, 4, 3, data);
    const crop = await loadImage(path, { size: 4, fit: 'center-crop' });
    for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) assert.deepEqual(pixel(crop, x, y), [-1, 1, -1]);
    const cover = await loadImage(path, { size: 4, fit: 'cover' });
    assert.deepEqual([...cover.data], [...crop.data]);
    const stretched = await loadImage(path, { size: 4 });
    assert.ok(pixel(stretched, 0, 0)[0] > 0.5, 'left edge stays red when stretched');
    assert.ok(pixel(stretched, 3, 3)[2] > 0.5, 'right edge stays blue when stretched');
  });

  it('crops a 0-based inclusive box before resizing', async () => {
    const path = join(dir, 'box.png');
    const red = [255, 0, 0];
    await writeRaw(path, 8, 8, 3, rgbPixels(8, 8, [0, 0, 255], { '4,2': red, '5,2': red, '4,3': red, '5,3': red }));
    const region = await loadImageRegion(path, [4, 2, 5, 3], 2);
    assert.deepEqual([...region.data], [1, -1, -1, 1, -1, -1, 1, -1, -1, 1, -1, -1]);
    const clipped = await loadImageRegion(path, [6, 6, 20, 20], 2);
    assert.deepEqual(pixel(clipped, 1, 1), [-1, -1, 1]);
  });

  it('round-trips through savePng and toUint8', async () => {
    const data = Float32Array.from({ length: 3 * 3 * 3 }, (_, i) => (i * 9) / 127.5 - 1);
    const img = { data, width: 3, height: 3, channels: 3 as const };
    assert.deepEqual([...toUint8(img)], Array.from({ length: 27 }, (_, i) => i * 9));
    assert.deepEqual([...toUint8({ ...img, data: Float32Array.from([-3, 2, 0]) })], [0, 255, 128]);
    const path = join(dir, 'out', 'saved.png');
    await savePng(img, path);
    const back = await loadImage(path, { size: 3 });
    assert.deepEqual([...back.data], [...data]);
    assert.deepEqual(await imageSize(path), { width: 3, height: 3 });
  });

  it('decodes JPEG into range', async () => {
    const path = join(dir, 'noise.jpg');
    const bytes = Array.from({ length: 16 * 16 * 3 }, (_, i) => (i * 37) % 256);
    await sharp(Buffer.from(bytes), { raw: { width: 16, height: 16, channels: 3 } }).jpeg().toFile(path);
    const img = await loadImage(path, { size: 8 });
    assert.equal(img.data.length, 8 * 8 * 3);
    assert.ok(img.data.every((v) => v >= -1 && v <= 1));
    assert.ok(new Set(img.data).size > 10);
  });

  it('names unreadable or missing files in a UserError', async () => {
    const bad = join(dir, 'bad.jpg');
    await writeFile(bad, 'not an image');
    const named = (name: string) => (err: unknown) => err instanceof UserError && err.message.includes(name);
    await assert.rejects(loadImage(bad, { size: 4 }), named('bad.jpg'));
    await assert.rejects(loadImage(join(dir, 'missing.png'), { size: 4 }), named('missing.png'));
    await assert.rejects(imageSize(bad), named('bad.jpg'));
  });
});
