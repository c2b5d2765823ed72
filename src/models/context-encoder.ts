/**
 * The paper's AlexNet context encoder (feature-learning variant): AlexNet
 * conv1–pool5 -> channel-wise fully-connected -> 1x1 stride-1 conv mixing
 * channels -> five 4x4 stride-2 up-convolutions -> bilinear resize to the
 * input size. Shapes NHWC, images in [-1, 1].
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../engine/random.js';
import { UserError } from '../errors.js';
import { alexnetFeatures, heNormal, type AlexNetConfig } from './alexnet.js';
import { ChannelwiseDense } from './channelwise-dense.js';
import { FreshDropout } from './fresh-dropout.js';
import { reluConv2d, reluConv2dTranspose } from './relu-conv.js';
import { ResizeBilinear } from './resize.js';

/** Any encoder, as the layers it applies to an input (returning pool5). */
export interface EncoderLayers {
  inputSize: number;
  seed: number;
  features(input: tf.SymbolicTensor): tf.SymbolicTensor;
}

export interface ContextEncoderConfig {
  /** AlexNet by its config, or any registered encoder by its layers. */
  encoder: AlexNetConfig | EncoderLayers;
  /**
   * Output channels of the five up-convolutions, the last being 3 (RGB).
   * Default [128, 64, 64, 32, 3], the first four scaled by pool5's channels / 256.
   */
  decoderWidths?: number[];
  /** Dropout rate after the channel-wise FC; 0 (default) leaves it out. */
  dropout?: number;
}

const DECODER_WIDTHS = [128, 64, 64, 32];
const UP_KERNEL = 4;

export function defaultDecoderWidths(pool5Channels: number): number[] {
  const scale = pool5Channels / 256;
  return [...DECODER_WIDTHS.map((w) => Math.max(1, Math.round(w * scale))), 3];
}

export function buildContextEncoder(cfg: ContextEncoderConfig): { generator: tf.LayersModel; encoder: tf.LayersModel } {
  const size = cfg.encoder.inputSize;
  const input = tf.input({ shape: [size, size, 3], name: 'image' });
  const pool5 = 'features' in cfg.encoder ? cfg.encoder.features(input) : alexnetFeatures(input, cfg.encoder);
  const pool5Channels = pool5.shape[3] as number;
  const decoderWidths = cfg.decoderWidths ?? defaultDecoderWidths(pool5Channels);
  if (decoderWidths.length !== 5 || decoderWidths[4] !== 3 || decoderWidths.some((w) => !Number.isInteger(w) || w < 1)) {
    throw new UserError(
      `decoderWidths ${JSON.stringify(decoderWidths)}: need five positive integer widths ending in 3 (RGB), e.g. [128, 64, 64, 32, 3]`,
    );
  }
  const dropout = cfg.dropout ?? 0;
  if (!(dropout >= 0 && dropout < 1)) {
    throw new UserError(`dropout ${dropout}: must be in [0, 1)`);
  }
  // The decoder's seeds come from a fork so its layers never share a stream with the encoder's.
  const rng = new Rng(cfg.encoder.seed).fork('context-encoder-decoder');

  let x = new ChannelwiseDense({ name: 'cwfc', seed: rng.intSeed('cwfc') }).apply(pool5) as tf.SymbolicTensor;
  if (dropout > 0) {
    x = new FreshDropout({ name: 'cwfc_dropout', rate: dropout, seed: rng.intSeed('cwfc_dropout') }).apply(x) as tf.SymbolicTensor;
  }
  x = reluConv2d({
    name: 'mix',
    filters: pool5Channels,
    kernelSize: 1,
    strides: 1,
    activation: 'relu',
    kernelInitializer: heNormal(pool5Channels, rng.intSeed('mix')),
  }).apply(x) as tf.SymbolicTensor;
  let inChannels = pool5Channels;
  decoderWidths.forEach((filters, i) => {
    const name = `upconv${i + 1}`;
    const last = i === decoderWidths.length - 1;
    x = reluConv2dTranspose({
      name,
      filters,
      kernelSize: UP_KERNEL,
      strides: 2,
      padding: 'same',
      activation: last ? 'tanh' : 'relu',
      // Each output pixel of a stride-2 up-conv sees (kernel/2)^2 taps per input channel.
      kernelInitializer: heNormal((UP_KERNEL / 2) ** 2 * inChannels, rng.intSeed(name)),
    }).apply(x) as tf.SymbolicTensor;
    inChannels = filters;
  });
  const output = new ResizeBilinear({ name: 'resize', height: size, width: size }).apply(x) as tf.SymbolicTensor;

  const generator = tf.model({ inputs: input, outputs: output, name: 'context_encoder' });
  const encoder = tf.model({ inputs: input, outputs: pool5, name: 'alexnet_encoder' });
  return { generator, encoder };
}
