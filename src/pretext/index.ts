/** Pretext methods by name: a new method is one file plus one line here. */
import type { PretextMethodName } from './config.js';
import { trainAutoencoder } from './autoencoder.js';
import { trainContextEncoder } from './context-encoder.js';
import { randomInit } from './random.js';
import type { PretextMethod } from './types.js';

export const PRETEXT_METHODS: Record<PretextMethodName, PretextMethod> = {
  'context-encoder': trainContextEncoder,
  autoencoder: trainAutoencoder,
  random: randomInit,
};

export type { PretextJob, PretextMethod, PretextOutcome } from './types.js';
export { ENCODER_DIR, GENERATOR_DIR } from './common.js';
