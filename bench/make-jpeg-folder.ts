/**
 * A folder of N non-square JPEGs for the loader's scale measurements
 * (BENCHMARKS.md): 227 px wide, 140-200 px high, noise with a colour tint,
 * in 10 class subfolders. Deterministic by index; an existing folder with
 * the same count is reused.
 *
 *   npx tsx bench/make-jpeg-folder.ts OUT N
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { mapLimit } from '../src/data/concurrency.js';

const [out, countArg] = process.argv.slice(2);
const count = Number(countArg);
if (!out || !Number.isInteger(count) || count < 1) {
  console.error('usage: npx tsx bench/make-jpeg-folder.ts OUT N');
  process.exit(2);
}
const classes = Array.from({ length: 10 }, (_, k) => `class${k}`);
const existing = existsSync(out) ? (await Promise.all(classes.map((c) => readdir(join(out, c)).catch(() => [])))).flat().length : 0;
if (existing === count) {
  console.error(`${out}: ${count} images already there`);
} else {
  for (const c of classes) await mkdir(join(out, c), { recursive: true });
  await mapLimit(Array.from({ length: count }, (_, i) => i), 8, async (i) => {
    const height = 140 + ((i * 37) % 61);
    const tint = { r: (i * 53) % 256, g: (i * 97) % 256, b: (i * 151) % 256 };
    const jpeg = await sharp({ create: { width: 227, height, channels: 3, background: tint, noise: { type: 'gaussian', mean: 128, sigma: 40 } } })
      .blur(1.2)
      .jpeg({ quality: 90 })
      .toBuffer();
    await writeFile(join(out, classes[i % 10], `${String(i).padStart(6, '0')}.jpg`), jpeg);
  });
  console.error(`${out}: wrote ${count} JPEGs`);
}
