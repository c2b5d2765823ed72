/** The random-initialisation baseline: the model's generator with its Gaussian initial weights, no training. */
import { BadSamples } from '../data/samples.js';
import { buildPretextModels, evaluateHeldout, saveEncoderAndGenerator } from './common.js';
import { RECONSTRUCTION_FIELDS, reconstructionProblems, type ReconstructionConfig } from './reconstruction-config.js';
import { registerPretext } from './registry.js';

registerPretext<ReconstructionConfig>({
  name: 'random',
  description: "the model's Gaussian-initialised generator, not trained (the random baseline)",
  config: RECONSTRUCTION_FIELDS,
  needs: { labels: false },
  produces: { encoder: true, generator: true },
  check: (config, model) => reconstructionProblems(config, model, ['evalMask']),
  async train(job, ctx) {
    const started = performance.now();
    const models = buildPretextModels(job);
    const trainSeconds = (performance.now() - started) / 1000;
    const bad = new BadSamples(job.dataset.onBadSample);
    const heldout = await evaluateHeldout(job, ctx, models.generator, bad);
    await saveEncoderAndGenerator(job, models);
    models.generator.dispose();
    return { summary: { train_seconds: trainSeconds, heldout_masked_l2: heldout }, imgPerSec: 0, skippedSamples: bad.skipped };
  },
});
