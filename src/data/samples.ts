/**
 * What a job does with a sample it cannot read (an image listed but absent,
 * a truncated or non-image file, a malformed annotation, a label map of the
 * wrong size or palette): by default stop, naming the file; with the
 * dataset's `onBadSample: "skip"`, leave the sample out and report it.
 */
import { UserError } from '../errors.js';
import { mapLimit } from './concurrency.js';

export type OnBadSample = 'stop' | 'skip';

export class BadSamples {
  /** One "file: why" line per sample left out, in the order found. */
  readonly skipped: string[] = [];

  constructor(readonly policy: OnBadSample = 'stop') {}

  /** `load()`'s value, or undefined when it failed on a bad sample and the policy is skip. */
  async tryLoad<R>(load: () => Promise<R>): Promise<R | undefined> {
    try {
      return await load();
    } catch (err) {
      // Only errors the user can fix are about the sample; anything else is a bug and propagates.
      if (!(err instanceof UserError)) throw err;
      if (this.policy === 'stop') {
        throw new UserError(`${err.message} (or set "onBadSample": "skip" on the dataset to leave such samples out)`);
      }
      this.skipped.push(err.message);
      return undefined;
    }
  }

  /** Loads every item (8 at a time, order kept); with skip, returns only those that loaded, with their index. */
  async map<T, R>(items: readonly T[], load: (item: T) => Promise<R>): Promise<{ index: number; value: R }[]> {
    const loaded = await mapLimit(items, 8, (item) => this.tryLoad(() => load(item)));
    const out: { index: number; value: R }[] = [];
    loaded.forEach((value, index) => {
      if (value !== undefined) out.push({ index, value });
    });
    return out;
  }
}
