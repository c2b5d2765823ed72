/** An experiment's datasets before any job runs: synthesized when asked and missing, else present. */
import { UserError } from '../errors.js';
import { logLine } from '../engine/log.js';
import { DATASET_FORMATS } from '../data/formats/index.js';
import { isOutdatedSynthesis, resolveSides } from '../data/synthetic.js';
import { exists, writeDirAtomic } from '../fs/atomic.js';
import type { DatasetConfig, Experiment } from './types.js';

/**
 * Synthesizes datasets that ask for it and are missing; fails early, naming
 * every other missing dataset. A single job (`bench job`) never synthesizes:
 * its `bench run` did, and concurrent jobs must not race to write one.
 */
export async function prepareDatasets(exp: Experiment, opts: { synthesize: boolean } = { synthesize: true }): Promise<void> {
  const missing: string[] = [];
  const toSynthesize: [string, DatasetConfig][] = [];
  for (const [key, ds] of Object.entries(exp.datasets)) {
    if (await exists(ds.root)) {
      // A synthetic dataset written for other settings (or by an earlier generator) is written again.
      if (ds.synthesize && opts.synthesize && (await isOutdatedSynthesis(ds.root, ds.synthesize))) toSynthesize.push([key, ds]);
      continue;
    }
    if (ds.synthesize && opts.synthesize) toSynthesize.push([key, ds]);
    else if (ds.synthesize) missing.push(`${exp.file} /datasets/${key}/root: ${ds.root} does not exist; \`bench run\` synthesizes it before starting any job`);
    else missing.push(`${exp.file} /datasets/${key}/root: ${ds.root} does not exist; ${DATASET_FORMATS.get(ds.format).missingHelp}`);
  }
  if (missing.length > 0) throw new UserError(missing.join('\n'));
  for (const [key, ds] of toSynthesize) {
    const synth = ds.synthesize!;
    const format = DATASET_FORMATS.get(ds.format);
    const sides = resolveSides(synth);
    logLine(`dataset ${key}: writing a synthetic ${format.name} dataset to ${ds.root} (${synth.images} images, sides ${sides.minSide}-${sides.maxSide}px, seed ${synth.seed})`);
    // Written beside its final place and renamed in, so a half-written dataset is never mistaken for a whole one.
    await writeDirAtomic(ds.root, (tmp) => format.synthesize!(tmp, synth));
  }
}
