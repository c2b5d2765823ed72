/**
 * The autoencoder baseline: the same network, nothing hidden, the whole image
 * reconstructed (the centre square of half the side for a generator that
 * predicts only that, such as dcgan).
 */
import { centreRegionMask, fullImageMask } from '../data/masks.js';
import { generatorOf } from '../models/generators/index.js';
import { RECONSTRUCTION_FIELDS, reconstructionProblems, type ReconstructionConfig } from './reconstruction-config.js';
import { trainReconstruction } from './reconstruction.js';
import { registerPretext } from './registry.js';

registerPretext<ReconstructionConfig>({
  name: 'autoencoder',
  description: 'reconstruct the whole unmasked image (the autoencoder baseline)',
  config: RECONSTRUCTION_FIELDS,
  needs: { labels: false },
  produces: { encoder: true, generator: true },
  check: (config, model) => reconstructionProblems(config, model, ['evalMask']),
  train: (job, ctx) =>
    trainReconstruction(job, ctx, {
      async makeMaskFactory(job) {
        const { model } = job;
        const mask = generatorOf(model).region === 'centre' ? centreRegionMask(model.inputSize) : fullImageMask(model.inputSize);
        return () => mask;
      },
    }),
});
