/**
 * The official CIFAR-10 binary release (`cifar-10-binary.tar.gz`, unpacked to
 * `cifar-10-batches-bin/`): data_batch_1..5.bin (train) and test_batch.bin
 * (test), each a run of 3,073-byte records, one label byte (0-9) then the
 * 32x32 image as three 1,024-byte planes R, G, B, rows top to bottom; class
 * names one per line in batches.meta.txt.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../errors.js';

export const CIFAR10_SIDE = 32;
const PLANE = CIFAR10_SIDE * CIFAR10_SIDE;
export const CIFAR10_RECORD_BYTES = 1 + 3 * PLANE;

export const CIFAR10_SPLIT_FILES: Record<string, string[]> = {
  train: ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin'],
  test: ['test_batch.bin'],
};

export const CIFAR10_MISSING_HELP =
  'download cifar-10-binary.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html and unpack it; root is its cifar-10-batches-bin/ folder (data_batch_1..5.bin, test_batch.bin, batches.meta.txt)';

export interface Cifar10Record {
  /** "<file>#<record index>", for error messages. */
  source: string;
  label: number;
  /** 32x32x3 interleaved RGB (HWC), 0-255: what sharp takes as raw input. */
  rgb: Uint8Array;
}

/** Class names from batches.meta.txt (blank lines dropped). */
export async function readCifar10Classes(root: string): Promise<string[]> {
  const file = join(root, 'batches.meta.txt');
  if (!existsSync(file)) throw new UserError(`${file}: not found; ${CIFAR10_MISSING_HELP}`);
  const names = (await readFile(file, 'utf8')).split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0);
  if (names.length < 2) throw new UserError(`${file}: expected one class name per line, found ${names.length}; ${CIFAR10_MISSING_HELP}`);
  return names;
}

/** Every record of a split ('train' or 'test'), in file order. */
export async function readCifar10Split(root: string, split: string, classCount: number): Promise<Cifar10Record[]> {
  const files = CIFAR10_SPLIT_FILES[split];
  if (!files) throw new UserError(`split "${split}": the cifar10 format has the splits ${Object.keys(CIFAR10_SPLIT_FILES).join(' and ')}`);
  const records: Cifar10Record[] = [];
  for (const name of files) {
    const file = join(root, name);
    if (!existsSync(file)) throw new UserError(`${file}: not found; ${CIFAR10_MISSING_HELP}`);
    const bytes = await readFile(file);
    if (bytes.length === 0 || bytes.length % CIFAR10_RECORD_BYTES !== 0) {
      throw new UserError(
        `${file}: ${bytes.length} bytes is not a whole number of ${CIFAR10_RECORD_BYTES}-byte CIFAR-10 records; the file is truncated or not the binary release (re-download it)`,
      );
    }
    for (let r = 0; r < bytes.length / CIFAR10_RECORD_BYTES; r++) {
      const base = r * CIFAR10_RECORD_BYTES;
      const label = bytes[base];
      if (label >= classCount) {
        throw new UserError(`${file}#${r}: label byte ${label} but batches.meta.txt names ${classCount} classes; the files do not belong together`);
      }
      const rgb = new Uint8Array(3 * PLANE);
      for (let p = 0; p < PLANE; p++) {
        rgb[3 * p] = bytes[base + 1 + p];
        rgb[3 * p + 1] = bytes[base + 1 + PLANE + p];
        rgb[3 * p + 2] = bytes[base + 1 + 2 * PLANE + p];
      }
      records.push({ source: `${file}#${r}`, label, rgb });
    }
  }
  return records;
}
