/** `bench inpaint`: fill the hole of one image with a trained generator. */
import * as tf from '@tensorflow/tfjs';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { initBackend, type BackendChoice } from '../engine/backend.js';
import { Rng } from '../engine/random.js';
import { logLine } from '../engine/log.js';
import { loadImage, toUint8 } from '../data/image.js';
import type { MaskKind } from '../data/masks.js';
import { loadGenerator, maskFor } from '../downstream/inpainting.js';
import { generatorNamed, maskProblem } from '../models/generators/index.js';
import { inpaintImages } from '../models/inpaint.js';
import { UserError } from '../errors.js';
import { writeFileAtomic } from '../fs/atomic.js';

export interface InpaintArgs {
  checkpoint: string;
  image: string;
  out: string;
  mask: MaskKind;
  seed: number;
  backend: BackendChoice;
}

/** A pretext job folder holds generator/; accept either it or the job folder. */
async function generatorDir(checkpoint: string): Promise<string> {
  const nested = join(checkpoint, 'generator');
  return access(join(nested, 'model.json')).then(
    () => nested,
    () => checkpoint,
  );
}

export async function inpaintCommand(args: InpaintArgs): Promise<void> {
  const backend = await initBackend(args.backend);
  const generator = await loadGenerator(await generatorDir(args.checkpoint));
  const size = generator.inputs[0].shape[1] as number;
  const kind = generatorNamed(generator);
  const problem = kind ? maskProblem({ generator: kind.name, inputSize: size }, 'mask', args.mask) : null;
  if (problem) {
    generator.dispose();
    throw new UserError(`--${problem.replace(' (/model/generator)', ` of ${args.checkpoint}`)}`);
  }
  logLine(`inpaint: ${args.image} resized to ${size}px, ${args.mask} hole, backend ${backend.name}`);
  const image = await loadImage(args.image, { size, fit: 'resize' });
  const mask = maskFor(args.mask, size, new Rng(args.seed).fork('inpaint-cli'));
  const [result] = await inpaintImages(generator, [image.data], [mask]);
  generator.dispose();
  tf.disposeVariables();

  // One PNG, three panels side by side: masked input | prediction | original.
  const panels = [result.masked, result.filled, image.data].map((data) => toUint8({ data, height: size, width: size, channels: 3 }));
  const row = Buffer.alloc(size * size * 3 * 3);
  for (let y = 0; y < size; y++) {
    panels.forEach((p, k) => Buffer.from(p.buffer, p.byteOffset + y * size * 3, size * 3).copy(row, (y * 3 * size + k * size) * 3));
  }
  const png = await sharp(row, { raw: { width: size * 3, height: size, channels: 3 } }).png().toBuffer();
  await writeFileAtomic(args.out, png);
  const { l1, l2, psnr } = result.scores;
  process.stdout.write(`l1 ${l1.toFixed(4)}  l2 ${l2.toFixed(4)}  psnr ${psnr.toFixed(2)} dB  (over the hole, intensities in [0, 1]; ${args.out})\n`);
}
