/** The autoencoder baseline: the same network, nothing hidden, the whole image reconstructed. */
import { fullImageMask } from '../data/masks.js';
import { RECONSTRUCTION_FIELDS, type ReconstructionConfig } from './reconstruction-config.js';
import { trainReconstruction } from './reconstruction.js';
import { registerPretext } from './registry.js';

registerPretext<ReconstructionConfig>({
  name: 'autoencoder',
  description: 'reconstruct the whole unmasked image (the autoencoder baseline)',
  config: RECONSTRUCTION_FIELDS,
  needs: { labels: false },
  produces: { encoder: true, generator: true },
  train: (job, ctx) =>
    trainReconstruction(job, ctx, {
      async makeMaskFactory(job) {
        const mask = fullImageMask(job.model.inputSize);
        return () => mask;
      },
    }),
});
