/**
 * Seeded pseudo-random streams. One experiment seed derives every other stream
 * (weights, data order, masks, crops) through `fork(label)`, so adding a new
 * consumer never shifts the numbers an existing one draws.
 */

/** 32-bit FNV-1a hash of a string, mixed with a seed. */
export function hashSeed(seed: number, label: string): number {
  let h = (0x811c9dc5 ^ (seed >>> 0)) >>> 0;
  for (let i = 0; i < label.length; i++) {
    h ^= label.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  // A final avalanche so nearby labels give unrelated seeds.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

/** Everything a stream needs to continue where it was (a training checkpoint holds these). */
export interface RngState {
  seed: number;
  a: number;
  b: number;
  c: number;
  d: number;
  spareNormal: number | null;
}

/** sfc32-style generator: small, fast, and good enough for data order and masks. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spareNormal: number | null = null;

  constructor(readonly seed: number) {
    this.a = 0x9e3779b9;
    this.b = 0x243f6a88;
    this.c = 0xb7e15162;
    this.d = seed >>> 0;
    for (let i = 0; i < 15; i++) this.nextUint32();
  }

  /** An independent stream named by `label`, derived from this stream's seed. */
  fork(label: string): Rng {
    return new Rng(hashSeed(this.seed, label));
  }

  /** An integer seed for libraries that take one (tfjs initialisers). */
  intSeed(label: string): number {
    return hashSeed(this.seed, label) % 2147483647;
  }

  getState(): RngState {
    return { seed: this.seed, a: this.a, b: this.b, c: this.c, d: this.d, spareNormal: this.spareNormal };
  }

  /** Continues from a saved state, in place, so closures holding this stream follow. */
  setState(state: RngState): void {
    if (state.seed !== this.seed) throw new Error(`Rng state of seed ${state.seed} restored into the stream of seed ${this.seed}`);
    ({ a: this.a, b: this.b, c: this.c, d: this.d, spareNormal: this.spareNormal } = state);
  }

  nextUint32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) >>> 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Standard normal (Box-Muller, caching the second value). */
  normal(): number {
    if (this.spareNormal !== null) {
      const v = this.spareNormal;
      this.spareNormal = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Fisher-Yates shuffle in place; returns the array. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = items[i];
      items[i] = items[j];
      items[j] = tmp;
    }
    return items;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
}
