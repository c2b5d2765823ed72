/**
 * The semantic-inpainting network of the reference code (train.lua): a
 * DCGAN-style encoder-decoder mapping a size x size masked image to its
 * size/2 x size/2 centre, and the discriminator that judges that centre.
 * Shapes NHWC, images in [-1, 1].
 *
 * train.lua is written for 128 -> 64 (generator) and 64 -> 1 (discriminator).
 * Other power-of-two sizes keep its rule that a map of side r has
 * base * min(8, max(1, 32 / r)) channels (base = nef, ngf or ndf), i.e. the
 * same layers nearest the 4x4 bottleneck, with layers added or dropped at the
 * image end.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../engine/random.js';
import { UserError } from '../errors.js';
import type { Initializer } from './alexnet.js';

export interface InpaintingGeneratorConfig {
  /** Input side in pixels, a power of two >= 16 (128 in the reference). */
  size: number;
  /** Bottleneck channels (train.lua's nBottleneck; 4000 in the README's command). */
  bottleneck?: number;
  /** Encoder base width (64). */
  nef?: number;
  /** Decoder base width (64). */
  ngf?: number;
  seed: number;
}

export interface DiscriminatorConfig {
  /** Input (predicted patch) side in pixels, a power of two >= 8 (64 in the reference). */
  size: number;
  /** Base width (64). */
  ndf?: number;
  seed: number;
}

const KERNEL = 4;

function widthAt(side: number, base: number): number {
  return base * Math.min(8, Math.max(1, 32 / side));
}

function checkPowerOfTwo(what: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min || (value & (value - 1)) !== 0) {
    throw new UserError(`${what} ${value}: must be a power of two >= ${min} (e.g. 64 or 128)`);
  }
}

function checkPositiveInt(what: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) throw new UserError(`${what} ${value}: must be a positive integer`);
}

/** Seeded initialisers as in train.lua's weights_init: conv N(0, 0.02), BatchNorm gamma N(1, 0.02). */
class Init {
  private readonly rng: Rng;
  constructor(seed: number) {
    this.rng = new Rng(seed);
  }
  conv(name: string): Initializer {
    return tf.initializers.randomNormal({ mean: 0, stddev: 0.02, seed: this.rng.intSeed(name) });
  }
  gamma(name: string): Initializer {
    return tf.initializers.randomNormal({ mean: 1, stddev: 0.02, seed: this.rng.intSeed(name) });
  }
}

type Tensor = tf.SymbolicTensor;

// train.lua zeroes every conv bias before each forward pass, so the convs
// here have none (as in the PyTorch ports, bias=False).
function conv(x: Tensor, init: Init, name: string, filters: number, strides: number, padding: 'same' | 'valid'): Tensor {
  return tf.layers
    .conv2d({ name, filters, kernelSize: KERNEL, strides, padding, useBias: false, kernelInitializer: init.conv(name) })
    .apply(x) as Tensor;
}

function upconv(x: Tensor, init: Init, name: string, filters: number, strides: number, padding: 'same' | 'valid'): Tensor {
  return tf.layers
    .conv2dTranspose({ name, filters, kernelSize: KERNEL, strides, padding, useBias: false, kernelInitializer: init.conv(name) })
    .apply(x) as Tensor;
}

// Torch's BatchNorm defaults: momentum 0.1 (tfjs counts the other way: 0.9), eps 1e-5.
function batchNorm(x: Tensor, init: Init, name: string): Tensor {
  return tf.layers
    .batchNormalization({ name, momentum: 0.9, epsilon: 1e-5, gammaInitializer: init.gamma(name), betaInitializer: 'zeros' })
    .apply(x) as Tensor;
}

const leaky = (x: Tensor, name: string): Tensor => tf.layers.leakyReLU({ name, alpha: 0.2 }).apply(x) as Tensor;
const relu = (x: Tensor, name: string): Tensor => tf.layers.reLU({ name }).apply(x) as Tensor;

/** Encoder 4x4/2 convs down to 4x4 (LeakyReLU 0.2, BatchNorm on all but the first), as in the discriminator. */
function downsample(x: Tensor, init: Init, prefix: string, size: number, base: number): Tensor {
  let i = 0;
  for (let side = size / 2; side >= 4; side /= 2) {
    i += 1;
    x = conv(x, init, `${prefix}conv${i}`, widthAt(side, base), 2, 'same');
    if (i > 1) x = batchNorm(x, init, `${prefix}bn${i}`);
    x = leaky(x, `${prefix}lrelu${i}`);
  }
  return x;
}

/** Applies the generator's layers to `input` ([size, size, 3]); returns the size/2 x size/2 prediction of the centre (tanh). */
export function inpaintingGeneratorLayers(input: Tensor, cfg: InpaintingGeneratorConfig): Tensor {
  const { size, bottleneck = 4000, nef = 64, ngf = 64 } = cfg;
  checkPowerOfTwo('size', size, 16);
  checkPositiveInt('bottleneck', bottleneck);
  checkPositiveInt('nef', nef);
  checkPositiveInt('ngf', ngf);
  const init = new Init(cfg.seed);

  let x = downsample(input, init, 'enc_', size, nef);
  x = conv(x, init, 'bottleneck', bottleneck, 1, 'valid');
  x = batchNorm(x, init, 'bottleneck_bn');
  x = leaky(x, 'bottleneck_lrelu');

  x = upconv(x, init, 'dec_conv1', widthAt(4, ngf), 1, 'valid');
  x = batchNorm(x, init, 'dec_bn1');
  x = relu(x, 'dec_relu1');
  let i = 1;
  for (let side = 8; side <= size / 2; side *= 2) {
    i += 1;
    const last = side === size / 2;
    x = upconv(x, init, `dec_conv${i}`, last ? 3 : widthAt(side, ngf), 2, 'same');
    if (last) {
      x = tf.layers.activation({ name: 'dec_tanh', activation: 'tanh' }).apply(x) as Tensor;
    } else {
      x = batchNorm(x, init, `dec_bn${i}`);
      x = relu(x, `dec_relu${i}`);
    }
  }
  return x;
}

/** size x size masked image -> size/2 x size/2 prediction of the centre (tanh). */
export function buildInpaintingGenerator(cfg: InpaintingGeneratorConfig): tf.LayersModel {
  checkPowerOfTwo('size', cfg.size, 16);
  const input = tf.input({ shape: [cfg.size, cfg.size, 3], name: 'context' });
  return tf.model({ inputs: input, outputs: inpaintingGeneratorLayers(input, cfg), name: 'inpainting_generator' });
}

/** size x size patch -> [1] probability that it is real. */
export function buildDiscriminator(cfg: DiscriminatorConfig): tf.LayersModel {
  const { size, ndf = 64 } = cfg;
  checkPowerOfTwo('size', size, 8);
  checkPositiveInt('ndf', ndf);
  const init = new Init(cfg.seed);

  const input = tf.input({ shape: [size, size, 3], name: 'patch' });
  let x = downsample(input, init, 'd_', size, ndf);
  x = tf.layers
    .conv2d({
      name: 'd_out',
      filters: 1,
      kernelSize: KERNEL,
      padding: 'valid',
      useBias: false,
      activation: 'sigmoid',
      kernelInitializer: init.conv('d_out'),
    })
    .apply(x) as Tensor;
  x = tf.layers.flatten({ name: 'd_flatten' }).apply(x) as Tensor;
  return tf.model({ inputs: input, outputs: x, name: 'discriminator' });
}
