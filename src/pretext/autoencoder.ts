/** The autoencoder baseline: the same network, nothing hidden, the whole image reconstructed. */
import { fullImageMask } from '../data/masks.js';
import { trainReconstruction } from './reconstruction.js';
import type { PretextMethod } from './types.js';

export const trainAutoencoder: PretextMethod = (job) =>
  trainReconstruction(job, {
    async makeMaskFactory(job) {
      const mask = fullImageMask(job.model.inputSize);
      return () => mask;
    },
  });
