import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { after, before, describe, it } from 'mocha';
import { UserError } from '../../src/errors.js';
import { DecodedImageCache, imageCacheBudget } from '../../src/data/decoded-cache.js';
import { decodedImageCache, loadImage, loadImageLetterboxed } from '../../src/data/image.js';

/** A cache get whose decode counts its calls and returns `bytes` bytes. */
function counted(cache: DecodedImageCache, key: string, bytes: number, calls: { n: number }) {
  return cache.get(key, async () => {
    calls.n++;
    return { data: new Uint8Array(bytes) };
  });
}

describe('decoded-image cache', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'decoded-cache-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps an image from its second read on, within the byte budget', async () => {
    const cache = new DecodedImageCache(250);
    const a = { n: 0 };
    for (let i = 0; i < 4; i++) await counted(cache, 'a', 100, a);
    // Read 1 only notes the key, read 2 decodes again and keeps it, reads 3 and 4 hit.
    assert.equal(a.n, 2);
    assert.deepEqual([cache.hits, cache.misses, cache.bytes], [2, 2, 100]);
    const b = { n: 0 };
    for (let i = 0; i < 3; i++) await counted(cache, 'b', 100, b);
    assert.equal(b.n, 2);
    // 200 of 250 bytes used: a third 100-byte entry does not fit and is decoded every time.
    const c = { n: 0 };
    for (let i = 0; i < 4; i++) await counted(cache, 'c', 100, c);
    assert.equal(c.n, 4);
    assert.equal(cache.bytes, 200);
    // Budget 0: nothing kept.
    const off = new DecodedImageCache(0);
    const d = { n: 0 };
    for (let i = 0; i < 3; i++) await counted(off, 'd', 1, d);
    assert.deepEqual([d.n, off.bytes], [3, 0]);
  });

  it('keys on content and decoding: the same bytes hit, changed bytes or another size do not', () => {
    const bytes = Uint8Array.from([1, 2, 3]);
    assert.equal(DecodedImageCache.key(bytes, 'cover:99'), DecodedImageCache.key(Uint8Array.from([1, 2, 3]), 'cover:99'));
    assert.notEqual(DecodedImageCache.key(bytes, 'cover:99'), DecodedImageCache.key(Uint8Array.from([1, 2, 4]), 'cover:99'));
    assert.notEqual(DecodedImageCache.key(bytes, 'cover:99'), DecodedImageCache.key(bytes, 'cover:114'));
  });

  it('loadImage and loadImageLetterboxed give the decoder\'s pixels from the cache, and a rewritten file its new pixels', async () => {
    const path = join(dir, 'img.png');
    const write = (r: number) =>
      sharp(Buffer.from(Array.from({ length: 30 * 20 * 3 }, (_, i) => (i * r) % 256)), { raw: { width: 30, height: 20, channels: 3 } })
        .png()
        .toFile(path);
    await write(7);
    const cache = decodedImageCache();
    const hits = cache.hits;
    const first = await loadImage(path, { size: 16, fit: 'cover' });
    const second = await loadImage(path, { size: 16, fit: 'cover' });
    const third = await loadImage(path, { size: 16, fit: 'cover' });
    assert.equal(cache.hits - hits, 1);
    assert.deepEqual(third.data, first.data);
    assert.deepEqual(second.data, first.data);
    const boxed = await Promise.all([0, 1, 2].map(() => loadImageLetterboxed(path, 24)));
    assert.deepEqual(boxed[2].image.data, boxed[0].image.data);
    assert.deepEqual(boxed[2].box, boxed[0].box);
    assert.equal(boxed[0].box.contentHeight, 16);
    await write(11);
    const changed = await loadImage(path, { size: 16, fit: 'cover' });
    assert.notDeepEqual(changed.data, first.data);
  });

  it('reads its budget from BENCH_IMAGE_CACHE_MB; a bad value is a UserError naming the variable', () => {
    assert.equal(imageCacheBudget({}), 256 * 2 ** 20);
    assert.equal(imageCacheBudget({ BENCH_IMAGE_CACHE_MB: '0' }), 0);
    assert.equal(imageCacheBudget({ BENCH_IMAGE_CACHE_MB: '1.5' }), 1.5 * 2 ** 20);
    assert.throws(() => imageCacheBudget({ BENCH_IMAGE_CACHE_MB: 'lots' }), (err: unknown) => err instanceof UserError && /BENCH_IMAGE_CACHE_MB=lots/.test(err.message));
  });
});
