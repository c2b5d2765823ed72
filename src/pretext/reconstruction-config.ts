/**
 * The fields of the pixel-reconstruction methods (context encoder,
 * autoencoder, random initialisation): one fragment, since they train (or
 * skip training) the same encoder-decoder and share the held-out masked L2.
 * The random baseline declares the training fields too, unused, so that its
 * job key is the one it had before methods declared their own fields.
 */
import type { MaskKind } from '../data/masks.js';
import type { ModelConfig } from '../models/config.js';
import { generatorOf, maskProblem } from '../models/generators/index.js';
import type { ConfigFragment } from '../registry/registry.js';
import type { PretextCommonConfig } from './config.js';

export interface ReconstructionConfig extends PretextCommonConfig {
  split: string;
  heldoutSplit: string;
  heldoutImages: number;
  mask: MaskKind;
  evalMask: MaskKind;
  holeFraction: number;
  overlapPx: number;
  overlapWeight: number;
  steps: number;
  batchSize: number;
  lr: number;
  beta1: number;
  adversarial: boolean;
  lambdaRec: number;
  loadScale: number;
  maxImages?: number;
  /** Dropout rate after the channel-wise FC; absent means none. */
  dropout?: number;
}

const MASK_KINDS = ['center', 'random-block', 'random-region'];

export const RECONSTRUCTION_FIELDS: ConfigFragment = {
  properties: {
    split: { type: 'string', default: 'trainval', description: 'Split to train on (VOC: ImageSets/Main/<split>.txt; folder: <root>/<split>/).' },
    heldoutSplit: { type: 'string', default: 'test', description: 'Split whose images give the held-out masked L2.' },
    heldoutImages: { type: 'integer', minimum: 1, default: 64 },
    mask: { enum: MASK_KINDS, default: 'random-region' },
    evalMask: { enum: MASK_KINDS, default: 'center', description: 'Mask of the held-out masked L2, the same for every method.' },
    holeFraction: { type: 'number', exclusiveMinimum: 0, maximum: 0.5, default: 0.25 },
    overlapPx: { type: 'integer', minimum: 0, maximum: 32, default: 4 },
    overlapWeight: { type: 'number', minimum: 1, default: 10 },
    steps: { type: 'integer', minimum: 0, default: 1000 },
    batchSize: { type: 'integer', minimum: 1, default: 64 },
    lr: { type: 'number', exclusiveMinimum: 0, default: 0.0002 },
    beta1: { type: 'number', minimum: 0, maximum: 1, default: 0.5 },
    adversarial: {
      type: 'boolean',
      default: false,
      description: 'Joint loss lambdaRec L2 + (1 - lambdaRec) adversarial; the discriminator trains at lr and the generator at 10 lr, as in the reference code.',
    },
    lambdaRec: { type: 'number', minimum: 0, maximum: 1, default: 0.999 },
    loadScale: { type: 'number', minimum: 1, maximum: 3, default: 1.15, description: 'Images load at inputSize*loadScale, then a random inputSize crop (the reference: 350 then 128, 2.734375).' },
    maxImages: { type: 'integer', minimum: 1, description: 'Use at most this many training images.' },
    dropout: {
      type: 'number',
      minimum: 0,
      exclusiveMaximum: 1,
      description: 'Dropout after the channel-wise FC (the paper: 0.5), a fresh seeded mask every step; absent or 0: none (not filled in, so existing job keys stay as they were). Refused with a generator that has no channel-wise FC (dcgan).',
    },
  },
};

/**
 * What the model's generator cannot train or score with this entry, as
 * "field: message": holes outside what it predicts (the `maskFields` the
 * method reads, e.g. mask and evalMask), dropout it has no place for.
 */
export function reconstructionProblems(config: ReconstructionConfig, model: ModelConfig, maskFields: ('mask' | 'evalMask')[]): string[] {
  const problems = maskFields.map((field) => maskProblem(model, field, config[field], config.holeFraction));
  const spec = generatorOf(model);
  if (!spec.dropout && (config.dropout ?? 0) > 0) {
    problems.push(`dropout: the ${spec.name} generator (/model/generator) has no channel-wise FC to drop out after; remove dropout`);
  }
  // Two mask fields may both be centre holes too large: one line is enough.
  return [...new Set(problems.filter((p): p is string => p !== null))];
}
