/** Every pretext method: a new one is one file (calling registerPretext) plus one line here. */
import './context-encoder.js';
import './autoencoder.js';
import './random.js';
import './rotation.js';
import './supervised.js';

export { PRETEXT_METHODS, registerPretext, type PretextContext, type PretextMethodSpec } from './registry.js';
export type { PretextJob, PretextOutcome } from './types.js';
export { ENCODER_DIR, GENERATOR_DIR } from './common.js';
