/**
 * Pretext-training throughput of tfjs, comparable line for line with
 * /work/shared/bench/torch_reference.py: the same DCGAN-style context encoder
 * (G: masked size x size image -> size/2 centre) and discriminator (on the
 * centre), joint loss 0.999 * L2 + 0.001 * adversarial, Adam, random data.
 *
 *   npx tsx bench/train-throughput.ts --size 64 --batch 16 [--backend wasm|cpu] [--kernels fast|stock]
 *
 * `--kernels stock` measures tfjs-backend-wasm as shipped: its naive
 * Conv2DBackpropInput, and (since it has no Conv2DBackpropFilter at all) a
 * filter gradient through its depth-1 Conv3DBackpropFilterV2 kernel.
 *
 * Prints one JSON line. One difference from the torch loop: a tfjs gradient
 * tape cannot stay open across the discriminator's update, so the generator
 * step runs first (against the discriminator before its update) and its
 * forward pass is reused, detached, for the discriminator step. That keeps the
 * work per step equal to torch's: one G forward + backward, three D passes.
 * Adam is written out (LeanAdam) for memory, with torch's arithmetic.
 */
import * as tf from '@tensorflow/tfjs';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { initBackend } from '../src/engine/backend.js';

const args = yargs(hideBin(process.argv))
  .option('size', { type: 'number', default: 64 })
  .option('batch', { type: 'number', default: 16 })
  .option('bottleneck', { type: 'number', default: 4000 })
  .option('steps', { type: 'number', default: 5 })
  .option('backend', { choices: ['wasm', 'cpu'] as const, default: 'wasm' as const })
  .option('kernels', { choices: ['fast', 'stock'] as const, default: 'fast' as const })
  .strict()
  .parseSync();

const BN = { momentum: 0.9, epsilon: 1e-5 }; // torch BatchNorm2d defaults

/** tfjs-backend-wasm's own kernels only: Conv2DBackpropFilter as a depth-1 3-D convolution gradient. */
function registerStockFilterGradient(): void {
  const conv3dFilter = tf.getKernel('Conv3DBackpropFilterV2', 'wasm');
  if (!conv3dFilter) throw new Error('tfjs-backend-wasm has no Conv3DBackpropFilterV2 kernel');
  tf.registerKernel({
    kernelName: tf.Conv2DBackpropFilter,
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
      const { strides, pad, filterShape } = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
      const [sh, sw] = typeof strides === 'number' ? [strides, strides] : strides;
      if (typeof pad !== 'string') throw new Error('stock filter gradient: only same/valid padding');
      const out = conv3dFilter.kernelFunc({
        inputs: {
          x: { ...x, shape: [x.shape[0], 1, ...x.shape.slice(1)] },
          dy: { ...dy, shape: [dy.shape[0], 1, ...dy.shape.slice(1)] },
        },
        backend,
        attrs: { strides: [1, sh, sw], pad, filterShape: [1, ...filterShape] },
      }) as tf.TensorInfo;
      return { ...out, shape: filterShape };
    },
  });
}

/** Encoder 4x4/2 convs down to 4x4, 4x4 bottleneck, 4x4 up-convs to size/2 (torch_reference.generator). */
function generator(size: number, bottleneck: number, nef = 64, ngf = 64): tf.LayersModel {
  const input = tf.input({ shape: [size, size, 3] });
  let h: tf.SymbolicTensor = input;
  let s = size;
  let i = 0;
  while (s > 4) {
    const out = Math.min(size >= 128 ? nef * 2 ** Math.max(i - 1, 0) : nef * 2 ** i, nef * 8);
    h = tf.layers.conv2d({ filters: out, kernelSize: 4, strides: 2, padding: 'same', useBias: false }).apply(h) as tf.SymbolicTensor;
    if (i > 0) h = tf.layers.batchNormalization(BN).apply(h) as tf.SymbolicTensor;
    h = tf.layers.leakyReLU({ alpha: 0.2 }).apply(h) as tf.SymbolicTensor;
    s /= 2;
    i++;
  }
  h = tf.layers.conv2d({ filters: bottleneck, kernelSize: 4, padding: 'valid', useBias: false }).apply(h) as tf.SymbolicTensor;
  h = tf.layers.batchNormalization(BN).apply(h) as tf.SymbolicTensor;
  h = tf.layers.leakyReLU({ alpha: 0.2 }).apply(h) as tf.SymbolicTensor;
  const ups = Math.log2(size / 2 / 4);
  h = tf.layers.conv2dTranspose({ filters: ngf * 8, kernelSize: 4, padding: 'valid', useBias: false }).apply(h) as tf.SymbolicTensor;
  h = tf.layers.batchNormalization(BN).apply(h) as tf.SymbolicTensor;
  h = tf.layers.reLU().apply(h) as tf.SymbolicTensor;
  let c = ngf * 8;
  for (let u = 0; u < ups; u++) {
    const last = u === ups - 1;
    const out = last ? 3 : Math.max(Math.floor(c / 2), ngf);
    h = tf.layers.conv2dTranspose({ filters: out, kernelSize: 4, strides: 2, padding: 'same', useBias: false }).apply(h) as tf.SymbolicTensor;
    if (last) {
      h = tf.layers.activation({ activation: 'tanh' }).apply(h) as tf.SymbolicTensor;
    } else {
      h = tf.layers.batchNormalization(BN).apply(h) as tf.SymbolicTensor;
      h = tf.layers.reLU().apply(h) as tf.SymbolicTensor;
    }
    c = out;
  }
  return tf.model({ inputs: input, outputs: h });
}

function discriminator(size: number, ndf = 64): tf.LayersModel {
  const input = tf.input({ shape: [size, size, 3] });
  let h: tf.SymbolicTensor = input;
  let s = size;
  let i = 0;
  while (s > 4) {
    const out = Math.min(ndf * 2 ** i, ndf * 8);
    h = tf.layers.conv2d({ filters: out, kernelSize: 4, strides: 2, padding: 'same', useBias: false }).apply(h) as tf.SymbolicTensor;
    if (i > 0) h = tf.layers.batchNormalization(BN).apply(h) as tf.SymbolicTensor;
    h = tf.layers.leakyReLU({ alpha: 0.2 }).apply(h) as tf.SymbolicTensor;
    s /= 2;
    i++;
  }
  h = tf.layers.conv2d({ filters: 1, kernelSize: 4, padding: 'valid', useBias: false, activation: 'sigmoid' }).apply(h) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: h });
}

/**
 * Adam as torch.optim.Adam computes it, one variable at a time. tf.train.adam
 * updates all variables inside one tidy, so a dozen temporaries per variable
 * (131 MB each for the 4000-channel bottleneck layers) stay alive together
 * and overflow the wasm backend's 4 GB heap.
 */
class LeanAdam {
  private readonly m: tf.Variable[];
  private readonly v: tf.Variable[];
  private t = 0;

  constructor(private readonly vars: tf.Variable[], private readonly lr: number, private readonly beta1: number,
    private readonly beta2: number, private readonly eps = 1e-8) {
    this.m = vars.map((w) => tf.tidy(() => tf.variable(tf.zerosLike(w), false)));
    this.v = vars.map((w) => tf.tidy(() => tf.variable(tf.zerosLike(w), false)));
  }

  /** Applies and disposes `grads` (keyed by variable name). */
  step(grads: tf.NamedTensorMap): void {
    this.t++;
    const stepSize = this.lr / (1 - this.beta1 ** this.t);
    const bc2 = 1 - this.beta2 ** this.t;
    this.vars.forEach((w, i) => {
      const g = grads[w.name];
      const [m, v] = [this.m[i], this.v[i]];
      tf.tidy(() => m.assign(tf.add(tf.mul(m, this.beta1), tf.mul(g, 1 - this.beta1))));
      tf.tidy(() => v.assign(tf.add(tf.mul(v, this.beta2), tf.mul(tf.square(g), 1 - this.beta2))));
      tf.tidy(() => w.assign(tf.sub(w, tf.div(tf.mul(m, stepSize), tf.add(tf.sqrt(tf.div(v, bc2)), this.eps)))));
      g.dispose();
    });
  }
}

/** Trainable parameters, as torch counts them (BatchNorm running statistics excluded). */
function countTrainable(model: tf.LayersModel): number {
  return model.trainableWeights.reduce((sum, w) => sum + tf.util.sizeFromShape(w.shape as number[]), 0);
}

function bce(p: tf.Tensor, target: 0 | 1): tf.Scalar {
  return tf.mean(tf.metrics.binaryCrossentropy(target === 1 ? tf.onesLike(p) : tf.zerosLike(p), p)) as tf.Scalar;
}

async function main(): Promise<void> {
  const { size, batch, bottleneck, steps } = args;
  let backendName: string = args.backend;
  if (args.backend === 'wasm' && args.kernels === 'stock') {
    registerStockFilterGradient();
    await tf.setBackend('wasm');
    await tf.ready();
    backendName = 'wasm-stock';
  } else {
    await initBackend(args.backend);
  }

  const G = generator(size, bottleneck);
  const D = discriminator(size / 2);
  const q = size / 4;
  const x = tf.randomNormal([batch, size, size, 3], 0, 1, 'float32', 0);
  const centre = tf.slice(x, [0, q, q, 0], [batch, 2 * q, 2 * q, 3]);
  const hole = tf.pad(tf.ones([batch, 2 * q, 2 * q, 3]), [[0, 0], [q, q], [q, q], [0, 0]]);
  const masked = tf.mul(x, tf.sub(1, hole));
  const gVars = G.trainableWeights.map((w) => w.read() as tf.Variable);
  const dVars = D.trainableWeights.map((w) => w.read() as tf.Variable);
  const optG = new LeanAdam(gVars, 2e-3, 0.5, 0.999);
  const optD = new LeanAdam(dVars, 2e-4, 0.5, 0.999);

  const step = (): void => {
    tf.tidy(() => {
      const generated: tf.Tensor[] = [];
      const gStep = tf.variableGrads(() => {
        const fake = tf.keep(G.apply(masked, { training: true }) as tf.Tensor);
        generated.push(fake);
        const adv = bce(D.apply(fake, { training: true }) as tf.Tensor, 1);
        return tf.add(tf.mul(0.001, adv), tf.mul(0.999, tf.mean(tf.squaredDifference(fake, centre)))) as tf.Scalar;
      }, gVars);
      optG.step(gStep.grads);
      const [fake] = generated;
      const dStep = tf.variableGrads(
        () => tf.add(bce(D.apply(centre, { training: true }) as tf.Tensor, 1), bce(D.apply(fake, { training: true }) as tf.Tensor, 0)) as tf.Scalar,
        dVars,
      );
      optD.step(dStep.grads);
      dStep.value.dataSync();
    });
  };

  step();
  let t = performance.now();
  for (let i = 0; i < steps; i++) step();
  const train = (batch * steps) / ((performance.now() - t) / 1000);
  const forward = (): void => tf.tidy(() => {
    (G.predict(masked) as tf.Tensor).dataSync();
  });
  forward();
  t = performance.now();
  for (let i = 0; i < steps; i++) forward();
  const fwd = (batch * steps) / ((performance.now() - t) / 1000);

  console.log(JSON.stringify({
    framework: `tfjs ${tf.version.tfjs}`, backend: backendName, net: 'ce-dcgan', size, batch, bottleneck,
    threads: args.backend === 'wasm' ? getThreadsCount() : 1, train_img_s: Math.round(train * 100) / 100, fwd_img_s: Math.round(fwd * 100) / 100,
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    params_G: countTrainable(G), params_D: countTrainable(D),
  }));
}

await main();
