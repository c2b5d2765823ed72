/** The random-initialisation baseline: the same networks, Gaussian weights, no training. */
import { BadSamples } from '../data/samples.js';
import { buildPretextModels, evaluateHeldout, saveEncoderAndGenerator } from './common.js';
import type { PretextMethod } from './types.js';

export const randomInit: PretextMethod = async (job) => {
  const started = performance.now();
  const models = buildPretextModels(job);
  const trainSeconds = (performance.now() - started) / 1000;
  const bad = new BadSamples(job.dataset.onBadSample);
  const heldout = await evaluateHeldout(job, models.generator, bad);
  await saveEncoderAndGenerator(job, models);
  models.generator.dispose();
  return { summary: { train_seconds: trainSeconds, heldout_masked_l2: heldout }, imgPerSec: 0, skippedSamples: bad.skipped };
};
