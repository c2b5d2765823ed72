/** `bench synth`: a synthetic dataset in the exact PASCAL VOC layout. */
import { access } from 'node:fs/promises';
import { resolve } from 'node:path';
import { UserError } from '../errors.js';
import { logLine } from '../engine/log.js';
import { writeSyntheticVoc } from '../data/synthetic.js';
import { writeDirAtomic } from '../fs/atomic.js';

export interface SynthArgs {
  out: string;
  images: number;
  size: number;
  seed: number;
  classes: number;
}

function requireInteger(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new UserError(`--${name} ${value}: must be a whole number from ${min} to ${max}`);
  }
}

export async function synthCommand(args: SynthArgs): Promise<void> {
  requireInteger('images', args.images, 8, 1_000_000);
  requireInteger('size', args.size, 32, 1024);
  requireInteger('seed', args.seed, 0, 2 ** 31 - 1);
  requireInteger('classes', args.classes, 2, 20);
  const out = resolve(args.out);
  const taken = await access(out).then(
    () => true,
    () => false,
  );
  if (taken) throw new UserError(`--out ${args.out}: already exists; remove it or choose another folder`);
  const started = performance.now();
  await writeDirAtomic(out, (tmp) => writeSyntheticVoc({ out: tmp, images: args.images, size: args.size, seed: args.seed, classes: args.classes }));
  logLine(`synth: ${args.images} images of ${args.size}px in ${out} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
}
