/**
 * Decoded pixels of images this process reads more than once, by content.
 *
 * sharp takes about 3.4 ms of CPU to decode and resize a 128-px JPEG here,
 * mostly per-call cost in libvips, and a training loop decodes every image
 * once per epoch: the smoke's six pretext jobs made 19,200 decodes of the
 * same 160 images, on the core the second wasm thread needs. An entry is
 * keyed by a hash of the encoded bytes (or raw pixels) plus how they were
 * decoded, so a file that changes on disk is decoded afresh, and the pixels
 * are the decoder's own: a hit returns exactly what a decode would.
 *
 * Memory: pixels are kept only from an image's second read on (a single pass
 * over a large dataset, such as a feature pass, holds nothing), as 8-bit
 * values, up to a byte budget after which nothing more is added
 * (BENCH_IMAGE_CACHE_MB, default 256; 0 turns the cache off).
 */
import { createHash } from 'node:crypto';
import { UserError } from '../errors.js';

export interface CacheablePixels {
  /** 8-bit pixels; the entry's size in the budget. */
  data: Uint8Array;
}

export const IMAGE_CACHE_ENV = 'BENCH_IMAGE_CACHE_MB';
const DEFAULT_BUDGET_MB = 256;

export class DecodedImageCache<V extends CacheablePixels = CacheablePixels> {
  private readonly seen = new Set<string>();
  private readonly entries = new Map<string, V>();
  private used = 0;
  /** Decodes asked of `get`'s callback, and answers given from memory. */
  misses = 0;
  hits = 0;

  constructor(readonly budgetBytes: number) {}

  /** The key of `content` decoded the `variant` way (e.g. "cover:114"). */
  static key(content: Uint8Array, variant: string): string {
    return `${variant}/${createHash('sha1').update(content).digest('base64')}`;
  }

  get bytes(): number {
    return this.used;
  }

  /** The cached value of `key`, or `decode()`'s, kept when the key was asked for before and the budget allows. */
  async get(key: string, decode: () => Promise<V>): Promise<V> {
    const hit = this.entries.get(key);
    if (hit) {
      this.hits++;
      return hit;
    }
    this.misses++;
    const value = await decode();
    if (!this.seen.has(key)) {
      if (this.budgetBytes > 0) this.seen.add(key);
    } else if (!this.entries.has(key) && this.used + value.data.byteLength <= this.budgetBytes) {
      this.entries.set(key, value);
      this.used += value.data.byteLength;
    }
    return value;
  }
}

/** The budget BENCH_IMAGE_CACHE_MB asks for, in bytes; a bad value is a one-line error naming the variable. */
export function imageCacheBudget(env: NodeJS.ProcessEnv = process.env): number {
  const given = env[IMAGE_CACHE_ENV];
  if (given === undefined || given === '') return DEFAULT_BUDGET_MB * 2 ** 20;
  const mb = Number(given);
  if (!Number.isFinite(mb) || mb < 0) throw new UserError(`${IMAGE_CACHE_ENV}=${given}: expected megabytes, a number >= 0 (0 turns the decoded-image cache off)`);
  return Math.floor(mb * 2 ** 20);
}
