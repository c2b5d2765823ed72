/**
 * The networks `bench perf` times, built from the project's own models.
 *
 * - `ce-alexnet`: the feature-learning context encoder
 *   (src/models/context-encoder.ts): AlexNet conv1-pool5, channel-wise FC,
 *   1x1 conv, five up-convolutions, bilinear resize to the input; L2 over the
 *   centre hole. Its training step is `bench run`'s own
 *   (pretext/reconstruction-step.ts, tfjs's Adam), so the timing is that of
 *   real pretext training.
 * - `ce-dcgan`: the semantic-inpainting context encoder (src/models/dcgan.ts):
 *   masked size x size image -> size/2 centre, and its discriminator on the
 *   centre; joint loss 0.999 * L2 + 0.001 * adversarial. `bench run` trains
 *   this network (model.generator "dcgan", through reconstruction-step.ts);
 *   this step instead does exactly the work of bench/torch_reference.py's
 *   (with LeanAdam, whose in-place update matches torch's memory use), for
 *   the comparison with PyTorch.
 * - `ce-alexnet-small`: the small-image context encoder exactly as
 *   experiments/cifar10.json's model entry defines it (alexnet-small encoder,
 *   width 1/4, BatchNorm after every conv), built by the model's registered
 *   generator as `bench run` builds it; same centre-hole L2 step as
 *   ce-alexnet. 32 px by default (CIFAR-10's side).
 *
 * Random data, shapes NHWC.
 */
import * as tf from '@tensorflow/tfjs';
import { LeanAdam } from '../engine/lean-adam.js';
import { UserError } from '../errors.js';
import { ALEXNET_WIDTHS } from '../models/alexnet.js';
import type { ModelConfig } from '../models/config.js';
import { buildContextEncoder } from '../models/context-encoder.js';
import { buildDiscriminator, buildInpaintingGenerator } from '../models/dcgan.js';
import { SMALL_ALEXNET_MAX_INPUT, SMALL_ALEXNET_MIN_INPUT } from '../models/encoders/alexnet-small.js';
import { generatorOf } from '../models/generators/index.js';
import { bceWithConstant } from '../pretext/losses.js';
import { reconstructionStep } from '../pretext/reconstruction-step.js';
import type { PerfNet } from './options.js';


export interface PerfNetOptions {
  net: PerfNet;
  size: number;
  batch: number;
  /** ce-dcgan only: bottleneck channels (4000 in the paper). */
  bottleneck: number;
  seed?: number;
}

export interface PerfSession {
  /** Networks whose trainable parameters torch counts as params_G / params_D. */
  generator: tf.LayersModel;
  discriminator: tf.LayersModel | null;
  /** One full training step; returns nothing, leaves no tensor behind. */
  trainStep(): void;
  /**
   * One inference pass of the generator (BatchNorm in inference mode, as
   * torch's eval() + no_grad). Model.apply, not predict: predict also slices
   * its input into batches (a copy of the input on wasm), which torch's
   * plain forward does not do.
   */
  forward(): void;
  dispose(): void;
}

/** Trainable parameters, as torch counts them (BatchNorm running statistics excluded). */
export function countTrainable(model: tf.LayersModel): number {
  return model.trainableWeights.reduce((sum, w) => sum + tf.util.sizeFromShape(w.shape as number[]), 0);
}

function variables(model: tf.LayersModel): tf.Variable[] {
  return model.trainableWeights.map((w) => w.read() as tf.Variable);
}

/**
 * A float32 image tensor with the centre square set to `value` (the rest
 * 1 - value); integer bounds as in torch (q = size // 4), so the square's
 * side is size/2 for even sizes and size - 2q otherwise (227 px).
 */
function centreMask(batch: number, size: number, channels: number, value: 0 | 1): tf.Tensor4D {
  const q = Math.floor(size / 4);
  const side = size - 2 * q;
  return tf.tidy(() => tf.pad(tf.fill([batch, side, side, channels], value), [[0, 0], [q, q], [q, q], [0, 0]], 1 - value) as tf.Tensor4D);
}

/** One inference-mode forward pass of the generator, synchronised like torch's. */
function forwardPass(G: tf.LayersModel, masked: tf.Tensor): () => void {
  return () => tf.tidy(() => {
    (G.apply(masked, { training: false }) as tf.Tensor).dataSync();
  });
}

function dcgan(opts: PerfNetOptions): PerfSession {
  const { size, batch, bottleneck, seed = 1 } = opts;
  const G = buildInpaintingGenerator({ size, bottleneck, seed });
  // torch_reference's discriminator doubles from 64 channels at its first
  // layer; src/models/dcgan.ts fixes widths by map side instead. This base
  // width gives the same layers for a patch of side <= 64 (size <= 128).
  const dSize = size / 2;
  const D = buildDiscriminator({ size: dSize, ndf: 64 / Math.max(1, Math.min(8, 64 / dSize)), seed: seed + 1 });
  const q = size / 4;
  const x = tf.randomNormal([batch, size, size, 3], 0, 1, 'float32', seed) as tf.Tensor4D;
  const centre = tf.slice(x, [0, q, q, 0], [batch, 2 * q, 2 * q, 3]);
  const keepMask = centreMask(batch, size, 3, 0);
  const masked = tf.mul(x, keepMask);
  keepMask.dispose();
  const gVars = variables(G);
  const dVars = variables(D);
  // The reference code's rates: generator 10x the discriminator's.
  const optG = new LeanAdam({ lr: 2e-3, beta1: 0.5, beta2: 0.999 });
  const optD = new LeanAdam({ lr: 2e-4, beta1: 0.5, beta2: 0.999 });

  // A gradient tape cannot stay open across the discriminator's update, so
  // the generator step runs first (against the discriminator before its
  // update) and its prediction is reused, detached, by the discriminator
  // step: one G forward + backward and three D passes, as torch's loop.
  const trainStep = (): void => {
    let fake: tf.Tensor | null = null;
    tf.dispose(optG.minimize(() => {
      const pred = G.apply(masked, { training: true }) as tf.Tensor;
      fake = tf.keep(pred);
      const adv = bceWithConstant(D.apply(pred, { training: true }) as tf.Tensor, 1);
      return tf.add(tf.mul(0.001, adv), tf.mul(0.999, tf.mean(tf.squaredDifference(pred, centre)))) as tf.Scalar;
    }, gVars));
    const detached = fake as unknown as tf.Tensor;
    const lossD = optD.minimize(
      () => tf.add(
        bceWithConstant(D.apply(centre, { training: true }) as tf.Tensor, 1),
        bceWithConstant(D.apply(detached, { training: true }) as tf.Tensor, 0),
      ) as tf.Scalar,
      dVars,
    );
    lossD.dataSync();
    tf.dispose([lossD, detached]);
  };
  return {
    generator: G,
    discriminator: D,
    trainStep,
    forward: forwardPass(G, masked),
    dispose: () => {
      optG.dispose();
      optD.dispose();
      tf.dispose([x, centre, masked]);
      G.dispose();
      D.dispose();
    },
  };
}

/**
 * experiments/cifar10.json's `model` entry but its inputSize (which --size
 * sets); test/perf/flops.test.ts checks the two agree.
 */
export const CIFAR10_MODEL = { encoder: 'alexnet-small', widthMultiplier: 0.25, batchNorm: true } as const;

/**
 * A generator trained on masked L2 over the centre hole with `bench run`'s
 * own step (reconstructionStep, tf.train.adam: what the pretext loop uses
 * for both AlexNet context encoders).
 */
function reconstructionSession(G: tf.LayersModel, opts: PerfNetOptions): PerfSession {
  const { size, batch, seed = 1 } = opts;
  const x = tf.randomNormal([batch, size, size, 3], 0, 1, 'float32', seed) as tf.Tensor4D;
  const weight = centreMask(batch, size, 1, 1);
  const masked = tf.tidy(() => tf.mul(x, tf.sub(1, weight)) as tf.Tensor4D);
  // bench run's defaults for the context encoder: lr 2e-4, beta1 0.5.
  const opt = tf.train.adam(2e-4, 0.5);
  const nets = { generator: G, gVars: variables(G), optG: opt, adversary: null };
  const trainStep = (): void => {
    reconstructionStep(nets, masked, x, weight);
  };
  return {
    generator: G,
    discriminator: null,
    trainStep,
    forward: forwardPass(G, masked),
    dispose: () => {
      opt.dispose();
      tf.dispose([x, weight, masked]);
      G.dispose();
    },
  };
}

function alexnet(opts: PerfNetOptions): PerfSession {
  const { generator } = buildContextEncoder({ encoder: { inputSize: opts.size, widths: ALEXNET_WIDTHS, seed: opts.seed ?? 1 } });
  return reconstructionSession(generator, opts);
}

function alexnetSmall(opts: PerfNetOptions): PerfSession {
  const model: ModelConfig = { ...CIFAR10_MODEL, inputSize: opts.size };
  // As pretext/common.ts builds it: the model's generator (here the default
  // encoder-decoder on the alexnet-small encoder), no dropout (cifar10.json sets none).
  const { generator } = generatorOf(model).build({ model, seed: opts.seed ?? 1 });
  return reconstructionSession(generator, opts);
}

export function buildPerfSession(opts: PerfNetOptions): PerfSession {
  if (opts.net === 'ce-dcgan') {
    if (!Number.isInteger(Math.log2(opts.size)) || opts.size < 16) throw new UserError(`--size ${opts.size}: ce-dcgan needs a power of two >= 16 (e.g. 64 or 128)`);
    return dcgan(opts);
  }
  if (opts.net === 'ce-alexnet-small') {
    if (!Number.isInteger(opts.size) || opts.size < SMALL_ALEXNET_MIN_INPUT || opts.size > SMALL_ALEXNET_MAX_INPUT) {
      throw new UserError(`--size ${opts.size}: ce-alexnet-small takes ${SMALL_ALEXNET_MIN_INPUT}-${SMALL_ALEXNET_MAX_INPUT} px (the alexnet-small encoder's range; CIFAR-10: 32)`);
    }
    return alexnetSmall(opts);
  }
  if (opts.size < 67) throw new UserError(`--size ${opts.size}: ce-alexnet needs at least 67 px (227 in the paper)`);
  return alexnet(opts);
}
