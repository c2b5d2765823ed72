/** `bench synth`: a synthetic dataset in the exact PASCAL VOC layout. */
import { access } from 'node:fs/promises';
import { resolve } from 'node:path';
import { UserError } from '../errors.js';
import { logLine } from '../engine/log.js';
import { resolveSides, writeSyntheticVoc } from '../data/synthetic.js';
import { writeDirAtomic } from '../fs/atomic.js';

export interface SynthArgs {
  out: string;
  images: number;
  size?: number;
  minSide?: number;
  maxSide?: number;
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
  for (const [name, value] of [['size', args.size], ['min-side', args.minSide], ['max-side', args.maxSide]] as const) {
    if (value !== undefined) requireInteger(name, value, 32, 2048);
  }
  const sides = resolveSides(args);
  requireInteger('seed', args.seed, 0, 2 ** 31 - 1);
  requireInteger('classes', args.classes, 2, 20);
  const out = resolve(args.out);
  const taken = await access(out).then(
    () => true,
    () => false,
  );
  if (taken) throw new UserError(`--out ${args.out}: already exists; remove it or choose another folder`);
  const started = performance.now();
  await writeDirAtomic(out, (tmp) => writeSyntheticVoc({ out: tmp, images: args.images, ...sides, seed: args.seed, classes: args.classes }));
  const described = sides.minSide === sides.maxSide ? `${sides.maxSide}px squares` : `sides ${sides.minSide}-${sides.maxSide}px`;
  logLine(`synth: ${args.images} images (${described}) in ${out} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
}
