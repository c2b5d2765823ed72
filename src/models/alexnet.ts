/**
 * AlexNet conv1–pool5, the encoder the paper learns features with (shapes
 * NHWC). The original's LRN and two-group convolutions are left out: neither
 * the context encoder nor the transfer protocols depend on them, and the
 * paper trains this encoder from scratch.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../engine/random.js';
import { UserError } from '../errors.js';
import { reluConv2d } from './relu-conv.js';

/** tfjs-layers does not export its Initializer class type. */
export type Initializer = ReturnType<typeof tf.initializers.randomNormal>;

export type AlexNetWidths = [number, number, number, number, number];

export interface AlexNetConfig {
  /** Square input side in pixels (227 in the paper). */
  inputSize: number;
  /** Output channels of conv1..conv5 ([96, 256, 384, 384, 256] in AlexNet). */
  widths: AlexNetWidths;
  seed: number;
}

export const ALEXNET_WIDTHS: AlexNetWidths = [96, 256, 384, 384, 256];

/** Smallest input whose pool5 is at least 1x1 (conv1 11x11/4 valid and three 3x3/2 max-pools). */
export const ALEXNET_MIN_INPUT_SIZE = 67;

/** AlexNet's widths scaled by `multiplier`, for small-scale runs. */
export function alexnetWidths(multiplier: number): AlexNetWidths {
  return ALEXNET_WIDTHS.map((w) => Math.max(1, Math.round(w * multiplier))) as AlexNetWidths;
}

const validOut = (size: number, kernel: number, stride: number): number => Math.floor((size - kernel) / stride) + 1;

/** Side of the pool5 map for a square input of side `inputSize` (6 at 227). */
export function pool5Size(inputSize: number): number {
  const conv1 = validOut(inputSize, 11, 4);
  const pool1 = validOut(conv1, 3, 2);
  const pool2 = validOut(pool1, 3, 2);
  const pool5 = validOut(pool2, 3, 2);
  if (!Number.isInteger(inputSize) || pool5 < 1) {
    throw new UserError(
      `inputSize ${inputSize}: AlexNet needs an integer input of at least ${ALEXNET_MIN_INPUT_SIZE}x${ALEXNET_MIN_INPUT_SIZE} pixels for a 1x1 pool5; use inputSize >= ${ALEXNET_MIN_INPUT_SIZE}`,
    );
  }
  return pool5;
}

/**
 * Kaiming (He) normal init, N(0, 2/fanIn), instead of AlexNet's N(0, 0.01):
 * at std 0.01 each ReLU conv scales activations by sqrt(fanIn * 1e-4 / 2),
 * 0.13-0.42 here, so pool5 comes out a few hundred times smaller than the
 * input (the paper's transfer runs fix that with Krähenbühl's data-dependent
 * rescaling) and a from-scratch encoder barely trains at small scale; He init
 * keeps every layer at unit scale.
 */
export function heNormal(fanIn: number, seed: number): Initializer {
  return tf.initializers.randomNormal({ mean: 0, stddev: Math.sqrt(2 / fanIn), seed });
}

/**
 * Applies the encoder's layers to `input` ([S,S,3]); returns pool5. Exposed
 * so the context encoder builds its generator and its encoder from the same
 * layer objects.
 */
export function alexnetFeatures(input: tf.SymbolicTensor, cfg: AlexNetConfig): tf.SymbolicTensor {
  pool5Size(cfg.inputSize);
  const rng = new Rng(cfg.seed);
  const [w1, w2, w3, w4, w5] = cfg.widths;
  const conv = (name: string, filters: number, kernelSize: number, strides: number, padding: 'valid' | 'same', inChannels: number) =>
    reluConv2d({
      name,
      filters,
      kernelSize,
      strides,
      padding,
      activation: 'relu',
      kernelInitializer: heNormal(kernelSize * kernelSize * inChannels, rng.intSeed(name)),
      biasInitializer: 'zeros',
    });
  const pool = (name: string) => tf.layers.maxPooling2d({ name, poolSize: 3, strides: 2, padding: 'valid' });

  let x = conv('conv1', w1, 11, 4, 'valid', 3).apply(input) as tf.SymbolicTensor;
  x = pool('pool1').apply(x) as tf.SymbolicTensor;
  x = conv('conv2', w2, 5, 1, 'same', w1).apply(x) as tf.SymbolicTensor;
  x = pool('pool2').apply(x) as tf.SymbolicTensor;
  x = conv('conv3', w3, 3, 1, 'same', w2).apply(x) as tf.SymbolicTensor;
  x = conv('conv4', w4, 3, 1, 'same', w3).apply(x) as tf.SymbolicTensor;
  x = conv('conv5', w5, 3, 1, 'same', w4).apply(x) as tf.SymbolicTensor;
  return pool('pool5').apply(x) as tf.SymbolicTensor;
}

/** Input [S,S,3] -> pool5 [n,n,widths[4]]. */
export function buildAlexNetEncoder(cfg: AlexNetConfig): tf.LayersModel {
  const input = tf.input({ shape: [cfg.inputSize, cfg.inputSize, 3], name: 'image' });
  return tf.model({ inputs: input, outputs: alexnetFeatures(input, cfg), name: 'alexnet_encoder' });
}
