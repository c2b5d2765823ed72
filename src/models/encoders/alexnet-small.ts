/**
 * AlexNet-shaped encoder for small images (32-96 px, e.g. CIFAR-10 at its own
 * 32 px): the same five conv layers, three max-pools and layer names as
 * AlexNet, with conv1 5x5/2 at 32 px (stride growing with the input so its
 * output stays 16 px, as AlexNet's conv1 quarters its input) instead of
 * 11x11/4, and 'same' padding, so conv3-conv5 are 4x4 and pool5 2x2 at every
 * supported size. Small enough to pretrain in minutes on a CPU.
 * Shapes NHWC, images in [-1, 1].
 *
 * `batchNorm` puts a BatchNorm between each conv and its ReLU for pretext
 * training; `foldBatchNorm` writes those into the conv weights, so what is
 * saved and transferred is the plain network.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../engine/random.js';
import { UserError } from '../../errors.js';
import { alexnetWidths, heNormal, type AlexNetWidths } from '../alexnet.js';
import { reluConv2d } from '../relu-conv.js';
import { registerEncoder } from './registry.js';

export const SMALL_ALEXNET_MIN_INPUT = 32;
export const SMALL_ALEXNET_MAX_INPUT = 96;

export interface SmallAlexNetConfig {
  inputSize: number;
  widths: AlexNetWidths;
  seed: number;
  /** BatchNorm after every conv (pretext training only; fold before saving). */
  batchNorm?: boolean;
}

const CONVS = ['conv1', 'conv2', 'conv3', 'conv4', 'conv5'] as const;

/** conv1's stride: about 16 px come out of it whatever the input. */
export function smallConv1Stride(inputSize: number): number {
  return Math.max(1, Math.round(inputSize / 16));
}

function checkSize(inputSize: number): void {
  if (!Number.isInteger(inputSize) || inputSize < SMALL_ALEXNET_MIN_INPUT || inputSize > SMALL_ALEXNET_MAX_INPUT) {
    throw new UserError(
      `inputSize ${inputSize}: the alexnet-small encoder takes ${SMALL_ALEXNET_MIN_INPUT}-${SMALL_ALEXNET_MAX_INPUT} px inputs; use the alexnet encoder for larger images`,
    );
  }
}

/** Side of pool5 for an input side (2 at 32 px). */
export function smallPool5Size(inputSize: number): number {
  checkSize(inputSize);
  let s = Math.ceil(inputSize / smallConv1Stride(inputSize));
  for (let i = 0; i < 3; i++) s = Math.ceil(s / 2);
  return s;
}

/** Applies conv1..pool5 to `input`; returns pool5. */
export function smallAlexnetFeatures(input: tf.SymbolicTensor, cfg: SmallAlexNetConfig): tf.SymbolicTensor {
  checkSize(cfg.inputSize);
  const rng = new Rng(cfg.seed);
  const stride1 = smallConv1Stride(cfg.inputSize);
  const kernels = [1 + 2 * stride1, 5, 3, 3, 3];
  let x = input;
  let inChannels = 3;
  CONVS.forEach((name, i) => {
    const filters = cfg.widths[i];
    x = reluConv2d({
      name,
      filters,
      kernelSize: kernels[i],
      strides: i === 0 ? stride1 : 1,
      padding: 'same',
      activation: cfg.batchNorm ? 'linear' : 'relu',
      kernelInitializer: heNormal(kernels[i] * kernels[i] * inChannels, rng.intSeed(name)),
      biasInitializer: 'zeros',
    }).apply(x) as tf.SymbolicTensor;
    if (cfg.batchNorm) {
      x = tf.layers.batchNormalization({ name: `${name}_bn`, momentum: 0.9, epsilon: 1e-5 }).apply(x) as tf.SymbolicTensor;
      x = tf.layers.activation({ name: `${name}_relu`, activation: 'relu' }).apply(x) as tf.SymbolicTensor;
    }
    inChannels = filters;
    const pool = name === 'conv1' ? 'pool1' : name === 'conv2' ? 'pool2' : name === 'conv5' ? 'pool5' : null;
    if (pool) x = tf.layers.maxPooling2d({ name: pool, poolSize: 3, strides: 2, padding: 'same' }).apply(x) as tf.SymbolicTensor;
  });
  return x;
}

export function buildSmallAlexNetEncoder(cfg: SmallAlexNetConfig): tf.LayersModel {
  const input = tf.input({ shape: [cfg.inputSize, cfg.inputSize, 3], name: 'image' });
  return tf.model({ inputs: input, outputs: smallAlexnetFeatures(input, cfg), name: 'alexnet_encoder' });
}

/**
 * The plain (BatchNorm-free) encoder computing what `trained` computes in
 * inference mode: each conv's kernel and bias absorb its BatchNorm's moving
 * statistics and affine parameters, w' = w * g / sqrt(v + eps),
 * b' = (b - m) * g / sqrt(v + eps) + beta. An encoder without BatchNorm is
 * copied as is.
 */
export function foldBatchNorm(trained: tf.LayersModel, cfg: Omit<SmallAlexNetConfig, 'batchNorm'>): tf.LayersModel {
  const plain = buildSmallAlexNetEncoder({ ...cfg, batchNorm: false });
  for (const name of CONVS) {
    const [kernel, bias] = trained.getLayer(name).getWeights();
    const bn = trained.layers.find((l) => l.name === `${name}_bn`);
    if (!bn) {
      plain.getLayer(name).setWeights([kernel, bias]);
      continue;
    }
    const epsilon = (bn.getConfig().epsilon as number) ?? 1e-3;
    const [gamma, beta, mean, variance] = bn.getWeights();
    const folded = tf.tidy(() => {
      const scale = gamma.div(variance.add(epsilon).sqrt());
      return [kernel.mul(scale), bias.sub(mean).mul(scale).add(beta)];
    });
    plain.getLayer(name).setWeights(folded);
    tf.dispose(folded);
  }
  return plain;
}

registerEncoder({
  name: 'alexnet-small',
  description: `AlexNet-shaped (same layers and names) for ${SMALL_ALEXNET_MIN_INPUT}-${SMALL_ALEXNET_MAX_INPUT} px inputs such as CIFAR-10: conv1 5x5/2 at 32 px, 'same' padding, pool5 2x2`,
  config: {
    properties: {
      // Replaces the common inputSize field for this encoder: its own range and default.
      inputSize: { type: 'integer', minimum: SMALL_ALEXNET_MIN_INPUT, maximum: SMALL_ALEXNET_MAX_INPUT, default: 32, description: 'Encoder input side in pixels (CIFAR-10: 32).' },
      widthMultiplier: { type: 'number', exclusiveMinimum: 0, maximum: 4, default: 1, description: "Scales AlexNet's 96-256-384-384-256 channel widths." },
      batchNorm: {
        type: 'boolean',
        default: false,
        description: 'BatchNorm between each conv and its ReLU while a pretext method trains; folded into the conv weights when the encoder is saved, so transfer sees the plain network.',
      },
    },
  },
  build: ({ input, inputSize, seed, model }) =>
    smallAlexnetFeatures(input, { inputSize, widths: alexnetWidths(model.widthMultiplier as number), seed, batchNorm: model.batchNorm === true }),
  plain: (trained, { inputSize, model }) =>
    model.batchNorm === true ? foldBatchNorm(trained, { inputSize, widths: alexnetWidths(model.widthMultiplier as number), seed: 0 }) : trained,
});
