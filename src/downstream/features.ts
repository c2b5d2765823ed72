/**
 * Helpers the downstream tasks share: batched inference into one typed array,
 * and the re-initialised fully-connected head (fc6, fc7) of the transfer
 * protocols.
 */
import * as tf from '@tensorflow/tfjs';
import { heNormal } from '../models/alexnet.js';
import { Rng } from '../engine/random.js';

/**
 * Runs `model` over n NHWC items of `itemShape` stored back to back in
 * `data`, in batches, and returns the outputs back to back.
 */
export async function predictInBatches(model: tf.LayersModel, data: Float32Array, n: number, itemShape: number[], batchSize = 32): Promise<Float32Array> {
  const itemSize = itemShape.reduce((a, b) => a * b, 1);
  const chunks: Float32Array[] = [];
  for (let start = 0; start < n; start += batchSize) {
    const count = Math.min(batchSize, n - start);
    const out = tf.tidy(() => model.predict(tf.tensor(data.subarray(start * itemSize, (start + count) * itemSize), [count, ...itemShape])) as tf.Tensor);
    chunks.push((await out.data()) as Float32Array);
    out.dispose();
  }
  return concatFloat32(chunks);
}

/** Joins arrays back to back. */
export function concatFloat32(parts: readonly Float32Array[]): Float32Array {
  const all = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    all.set(p, offset);
    offset += p.length;
  }
  return all;
}

/**
 * flatten -> fc6 -> fc7 -> `outputs` logits, freshly initialised (the paper
 * re-initialises fc6 and fc7 for every transfer). No dropout: tfjs's seeded
 * dropout draws the same mask at every step, and an unseeded one would break
 * the same-seed-same-numbers rule.
 */
export function buildFcHead(inputShape: number[], widths: number[], outputs: number, seed: number, name = 'head'): tf.LayersModel {
  const rng = new Rng(seed);
  const input = tf.input({ shape: inputShape });
  let x = tf.layers.flatten({ name: `${name}_flatten` }).apply(input) as tf.SymbolicTensor;
  let fanIn = inputShape.reduce((a, b) => a * b, 1);
  widths.forEach((w, i) => {
    const layer = `${name}_fc${6 + i}`;
    x = tf.layers.dense({ name: layer, units: w, activation: 'relu', kernelInitializer: heNormal(fanIn, rng.intSeed(layer)) }).apply(x) as tf.SymbolicTensor;
    fanIn = w;
  });
  const out = tf.layers
    .dense({ name: `${name}_out`, units: outputs, kernelInitializer: tf.initializers.randomNormal({ mean: 0, stddev: 0.01, seed: rng.intSeed('out') }) })
    .apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

export function variablesOf(model: tf.LayersModel): tf.Variable[] {
  return model.trainableWeights.map((w) => w.read() as tf.Variable);
}

/**
 * Standardises head inputs with the mean and std of the initial encoder's
 * features on the training images, fixed from then on: a parameter-free
 * normalisation like the BatchNorm without affine that MAE's linear probe
 * puts before its classifier. Without it a head on trained features, whose
 * scale shrinks with depth, learns at a different speed than one on random
 * features, and the comparison measures scale instead of content.
 */
export class FeatureScaler {
  private constructor(
    private readonly mean: tf.Tensor,
    private readonly invStd: tf.Tensor,
  ) {}

  /** Takes ownership of the two statistics tensors (ScalerFit's result). */
  static fromStats(mean: tf.Tensor, invStd: tf.Tensor): FeatureScaler {
    return new FeatureScaler(mean, invStd);
  }

  /**
   * `perChannel`: one mean/std per channel (convolutional heads); otherwise
   * one per feature element (fully-connected heads).
   */
  static fit(features: Float32Array, n: number, shape: number[], perChannel: boolean): FeatureScaler {
    const fit = new ScalerFit(shape, perChannel);
    fit.add(features.subarray(0, n * fit.itemSize));
    return fit.finish();
  }

  apply(features: tf.Tensor): tf.Tensor {
    return tf.tidy(() => features.sub(this.mean).mul(this.invStd));
  }

  /** Scales a typed array in place, the same way. */
  applyInPlace(features: Float32Array): Float32Array {
    const mean = this.mean.dataSync();
    const invStd = this.invStd.dataSync();
    for (let i = 0; i < features.length; i++) {
      const g = i % mean.length;
      features[i] = (features[i] - mean[g]) * invStd[g];
    }
    return features;
  }

  dispose(): void {
    this.mean.dispose();
    this.invStd.dispose();
  }
}

/**
 * FeatureScaler.fit a chunk of items at a time, for features that are never
 * all in memory at once (the frozen protocol's, streamed to a FeatureStore).
 * Chunks added in item order sum in the same order as one whole array, so
 * the scaler is bit-identical to fit's.
 */
export class ScalerFit {
  readonly itemSize: number;
  private readonly channels: number;
  private readonly sum: Float64Array;
  private readonly sumSq: Float64Array;
  private items = 0;

  constructor(
    private readonly shape: number[],
    private readonly perChannel: boolean,
  ) {
    this.itemSize = shape.reduce((a, b) => a * b, 1);
    this.channels = shape[shape.length - 1];
    const groups = perChannel ? this.channels : this.itemSize;
    this.sum = new Float64Array(groups);
    this.sumSq = new Float64Array(groups);
  }

  /** Adds whole items, back to back in `features`. */
  add(features: Float32Array): void {
    if (features.length % this.itemSize !== 0) throw new Error(`scaler fit: ${features.length} floats are not whole items of ${this.itemSize}`);
    // Every chunk starts at an item boundary, a multiple of the channel count too, so the local index names the same group.
    const modulus = this.perChannel ? this.channels : this.itemSize;
    const { sum, sumSq } = this;
    for (let i = 0; i < features.length; i++) {
      const g = i % modulus;
      const v = features[i];
      sum[g] += v;
      sumSq[g] += v * v;
    }
    this.items += features.length / this.itemSize;
  }

  finish(): FeatureScaler {
    const { perChannel, channels, shape, sum, sumSq } = this;
    const groups = sum.length;
    const count = perChannel ? (this.items * this.itemSize) / channels : this.items;
    const mean = new Float32Array(groups);
    const invStd = new Float32Array(groups);
    for (let g = 0; g < groups; g++) {
      mean[g] = sum[g] / count;
      const variance = Math.max(0, sumSq[g] / count - mean[g] * mean[g]);
      invStd[g] = 1 / Math.sqrt(variance + 1e-5);
    }
    const statShape = perChannel ? [...shape.map(() => 1), channels] : [1, ...shape];
    return FeatureScaler.fromStats(tf.tensor(mean, statShape), tf.tensor(invStd, statShape));
  }
}
