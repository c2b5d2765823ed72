/**
 * The paper's feature-learning context encoder (models/context-encoder.ts)
 * on the model's encoder: the default generator. Its discriminator judges
 * the whole image (prediction pasted into the hole), resized to a power of
 * two of at most 128 px.
 */
import * as tf from '@tensorflow/tfjs';
import { buildContextEncoder } from '../context-encoder.js';
import { buildDiscriminator } from '../dcgan.js';
import { DEFAULT_ENCODER, ENCODERS } from '../encoders/index.js';
import { DEFAULT_GENERATOR, registerGenerator } from './registry.js';

function largestPowerOfTwoAtMost(n: number): number {
  return 2 ** Math.floor(Math.log2(n));
}

registerGenerator({
  name: DEFAULT_GENERATOR,
  description: "the model's encoder (default AlexNet), channel-wise FC, five up-convolutions, resized to the input: the paper's feature-learning network",
  config: null,
  // models/context-encoder.ts names it so.
  modelName: 'context_encoder',
  region: 'image',
  // tf.train.adam as before LeanAdam existed, so earlier results reproduce bit for bit.
  leanAdam: false,
  dropout: true,
  encoder: true,
  build({ model, seed, dropout }) {
    const encoder = ENCODERS.get(model.encoder ?? DEFAULT_ENCODER);
    const { inputSize } = model;
    return buildContextEncoder({
      encoder: { inputSize, seed, features: (input) => encoder.build({ input, inputSize, seed, model }) },
      decoderWidths: model.decoderWidths,
      dropout,
    });
  },
  critic({ inputSize, seed }) {
    const size = Math.min(128, largestPowerOfTwoAtMost(inputSize));
    return {
      model: buildDiscriminator({ size, seed }),
      patch: (images) => (size === inputSize ? images : tf.image.resizeBilinear(images, [size, size])),
    };
  },
});
