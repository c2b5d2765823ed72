/**
 * The linear probe of Zhang et al. (2017): one linear layer on frozen
 * features (average-pooled to about 9k values per image before they get
 * here: probe-pooling.ts), trained with Adam or SGD (momentum 0.9)
 * under a cosine schedule; softmax cross-entropy for single-label data,
 * per-class sigmoid for multi-label. Features are standardised with the
 * training set's per-dimension mean and std first, as MAE's probe does with a
 * parameter-free BatchNorm, so layers of different scale train alike.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../engine/random.js';

export interface LinearProbeOptions {
  epochs: number;
  batchSize: number;
  lr: number;
  optimizer: 'adam' | 'sgd';
  weightDecay: number;
  /** 'softmax': one class per item; 'sigmoid': independent classes (multi-label). */
  loss: 'softmax' | 'sigmoid';
  seed: number;
}

export const LINEAR_PROBE_DEFAULTS: Omit<LinearProbeOptions, 'seed' | 'loss'> = {
  epochs: 15,
  batchSize: 256,
  lr: 0.003,
  optimizer: 'adam',
  weightDecay: 5e-4,
};

/**
 * Adam reads its `learningRate` field at every step; SGD and momentum read a
 * scalar made from it, which only their `setLearningRate` remakes.
 */
function setLearningRate(optimizer: tf.Optimizer, kind: LinearProbeOptions['optimizer'], lr: number): void {
  // (tfjs optimizers' instanceof matches any optimizer class, so the kind is passed in.)
  if (kind === 'adam') (optimizer as unknown as { learningRate: number }).learningRate = lr;
  else (optimizer as tf.MomentumOptimizer).setLearningRate(lr);
}

/** A trained probe as plain arrays: nothing to dispose, usable after its tensors are gone. */
export interface TrainedProbe {
  dims: number;
  classes: number;
  /** Standardisation of the inputs (training mean, 1 / std), then [dims, classes] weights and bias. */
  mean: Float32Array;
  invStd: Float32Array;
  weights: Float32Array;
  bias: Float32Array;
}

/** Logits [count, classes] of `count` rows of features. */
export function probeScores(probe: TrainedProbe, features: Float32Array, count: number): Float32Array {
  const { dims, classes, mean, invStd, weights, bias } = probe;
  const out = new Float32Array(count * classes);
  const z = new Float32Array(dims);
  for (let i = 0; i < count; i++) {
    for (let d = 0; d < dims; d++) z[d] = (features[i * dims + d] - mean[d]) * invStd[d];
    for (let c = 0; c < classes; c++) {
      let s = bias[c];
      for (let d = 0; d < dims; d++) s += z[d] * weights[d * classes + c];
      out[i * classes + c] = s;
    }
  }
  return out;
}

/** Rows `rows` of a row-major [n, width] array, back to back. */
function gatherRows(values: Float32Array, width: number, rows: readonly number[]): Float32Array {
  const out = new Float32Array(rows.length * width);
  rows.forEach((r, i) => out.set(values.subarray(r * width, (r + 1) * width), i * width));
  return out;
}

/**
 * Trains the probe on `features` [n, d] with `targets` [n, classes] (one-hot
 * for softmax, 0/1 per class for sigmoid). Every draw comes from `seed`.
 */
export function trainLinearProbe(features: tf.Tensor2D, targets: tf.Tensor2D, opts: LinearProbeOptions): TrainedProbe {
  const [n, dims] = features.shape;
  const classes = targets.shape[1];
  const { mean, invStd } = tf.tidy(() => {
    const m = tf.moments(features, 0);
    return { mean: m.mean, invStd: tf.rsqrt(m.variance.add(1e-5)) };
  });
  // Batches are gathered on the CPU side: the wasm backend's gather kernel costs more than the probe's arithmetic.
  const standardisedTensor = tf.tidy(() => features.sub(mean).mul(invStd));
  const standardised = standardisedTensor.dataSync() as Float32Array;
  standardisedTensor.dispose();
  const targetValues = targets.dataSync() as Float32Array;
  const [weights, bias] = tf.tidy(() => [tf.variable(tf.zeros([dims, classes])), tf.variable(tf.zeros([classes]))]);
  const optimizer: tf.Optimizer = opts.optimizer === 'adam' ? tf.train.adam(opts.lr) : tf.train.momentum(opts.lr, 0.9);
  const rng = new Rng(opts.seed).fork('linear-probe-order');
  const stepsPerEpoch = Math.ceil(n / opts.batchSize);
  try {
    for (let epoch = 0; epoch < opts.epochs; epoch++) {
      const order = rng.shuffle(Array.from({ length: n }, (_, i) => i));
      for (let s = 0; s < stepsPerEpoch; s++) {
        // Cosine decay per step, from lr to 0 at the last step.
        const progress = (epoch * stepsPerEpoch + s) / (opts.epochs * stepsPerEpoch);
        setLearningRate(optimizer, opts.optimizer, opts.lr * 0.5 * (1 + Math.cos(Math.PI * progress)));
        const rows = order.slice(s * opts.batchSize, (s + 1) * opts.batchSize);
        tf.tidy(() => {
          const x = tf.tensor2d(gatherRows(standardised, dims, rows), [rows.length, dims]);
          const y = tf.tensor2d(gatherRows(targetValues, classes, rows), [rows.length, classes]);
          optimizer.minimize(
            () => {
              const logits = x.matMul(weights).add(bias);
              const data = opts.loss === 'softmax' ? tf.losses.softmaxCrossEntropy(y, logits) : tf.losses.sigmoidCrossEntropy(y, logits);
              return data.add(weights.square().sum().mul(opts.weightDecay / 2)) as tf.Scalar;
            },
            false,
            [weights, bias],
          );
        });
      }
    }
  } finally {
    optimizer.dispose();
    // tfjs 4.22's MomentumOptimizer.dispose leaves its SGD parent's learning-rate scalar behind.
    if (opts.optimizer === 'sgd') (optimizer as unknown as { c: tf.Tensor }).c.dispose();
  }
  const probe: TrainedProbe = {
    dims,
    classes,
    mean: mean.dataSync() as Float32Array,
    invStd: invStd.dataSync() as Float32Array,
    weights: weights.dataSync() as Float32Array,
    bias: bias.dataSync() as Float32Array,
  };
  tf.dispose([mean, invStd, weights, bias]);
  return probe;
}
