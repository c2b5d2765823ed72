import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { UserError } from '../../src/errors.js';
import { decodeLabelPng, readLabelPng, vocColormap, writePalettePng } from '../../src/data/palette.js';

/** A minimal indexed PNG written independently of fast-png: IHDR, PLTE, IDAT, IEND. */
function handMadeIndexedPng(width: number, height: number, depth: 4 | 8, indices: number[]): Uint8Array {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (bytes: Buffer): number => {
    let c = 0xffffffff;
    for (const b of bytes) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer): Buffer => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const sum = Buffer.alloc(4);
    sum.writeUInt32BE(crc(body));
    return Buffer.concat([len, body, sum]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = depth;
  ihdr[9] = 3;
  const plte = Buffer.alloc(256 * 3, 7);
  const rowBytes = Math.ceil((width * depth) / 8);
  const raw = Buffer.alloc(height * (rowBytes + 1));
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const v = indices[y * width + x];
      const o = y * (rowBytes + 1) + 1;
      if (depth === 8) raw[o + x] = v;
      else raw[o + (x >> 1)] |= x % 2 === 0 ? v << 4 : v;
    }
  }
  return Buffer.concat([
    Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk('IHDR', ihdr),
    chunk('PLTE', depth === 8 ? plte : plte.subarray(0, 16 * 3)),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

describe('data/palette', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'palette-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reproduces the devkit colormap', () => {
    const map = vocColormap();
    assert.equal(map.length, 256);
    assert.deepEqual(map[0], [0, 0, 0]);
    assert.deepEqual(map[1], [128, 0, 0]);
    assert.deepEqual(map[2], [0, 128, 0]);
    assert.deepEqual(map[3], [128, 128, 0]);
    assert.deepEqual(map[4], [0, 0, 128]);
    assert.deepEqual(map[15], [192, 128, 128]);
    assert.deepEqual(map[20], [0, 64, 128]);
    assert.deepEqual(map[255], [224, 224, 192]);
  });

  it('writes a colour-type-3 PNG whose indices read back exactly', async () => {
    const width = 7;
    const height = 5;
    const labels = Uint8Array.from({ length: width * height }, (_, i) => (i % 6 === 5 ? 255 : i % 21));
    const path = join(dir, 'labels.png');
    await writePalettePng(path, { width, height, labels });
    const bytes = await readFile(path);
    assert.equal(bytes.toString('ascii', 12, 16), 'IHDR');
    assert.equal(bytes[24], 8, 'bit depth');
    assert.equal(bytes[25], 3, 'colour type 3 = indexed');
    const plte = bytes.indexOf('PLTE');
    assert.equal(bytes.readUInt32BE(plte - 4), 768);
    const back = await readLabelPng(path);
    assert.equal(back.width, width);
    assert.equal(back.height, height);
    assert.deepEqual([...back.labels], [...labels]);
  });

  it('reads indexed PNGs from another writer, at 8 and 4 bits', () => {
    const eight = [0, 1, 255, 20, 3, 0];
    assert.deepEqual([...decodeLabelPng(handMadeIndexedPng(3, 2, 8, eight), 'x').labels], eight);
    const four = [0, 1, 15, 7, 3, 9, 2];
    assert.deepEqual([...decodeLabelPng(handMadeIndexedPng(7, 1, 4, four), 'x').labels], four);
  });

  it('maps RGB label images back through the colormap and rejects foreign colours', async () => {
    const map = vocColormap();
    const idx = [0, 15, 255, 12];
    const rgb = Buffer.from(idx.flatMap((i) => map[i]));
    const png = await sharp(rgb, { raw: { width: 2, height: 2, channels: 3 } }).png().toBuffer();
    assert.deepEqual([...decodeLabelPng(png, 'rgb.png').labels], idx);
    rgb[0] = 1;
    const bad = await sharp(rgb, { raw: { width: 2, height: 2, channels: 3 } }).png().toBuffer();
    assert.throws(() => decodeLabelPng(bad, 'bad.png'), (err: unknown) => err instanceof UserError && /bad\.png/.test(err.message));
  });

  it('names the file when it is missing or not a PNG', async () => {
    await assert.rejects(readLabelPng(join(dir, 'nope.png')), (err: unknown) => err instanceof UserError && /nope\.png/.test(err.message));
    assert.throws(() => decodeLabelPng(new Uint8Array([1, 2, 3]), 'junk.png'), /junk\.png/);
  });
});
