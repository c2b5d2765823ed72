import assert from 'node:assert/strict';
import { before, describe, it } from 'mocha';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/engine/backend.js';
import { ChannelwiseDense } from '../../src/models/channelwise-dense.js';

function modelWith(layer: ChannelwiseDense, h: number, m: number): tf.LayersModel {
  const input = tf.input({ shape: [h, h, m] });
  return tf.model({ inputs: input, outputs: layer.apply(input) as tf.SymbolicTensor });
}

// n = 2, m = 2. Positions row-major: i = 0 (0,0), 1 (0,1), 2 (1,0), 3 (1,1).
// Channel 0 holds 1,2,3,4; channel 1 holds 10,20,30,40 (NHWC interleaves them).
const X = [1, 10, 2, 20, 3, 30, 4, 40];
// kernel[c][i][j]: input position i -> output position j.
// W[0] = 2 * identity; W[1] = the reversal j = 3 - i plus one extra link i = 0 -> j = 1.
const W0 = [
  [2, 0, 0, 0],
  [0, 2, 0, 0],
  [0, 0, 2, 0],
  [0, 0, 0, 2],
];
const W1 = [
  [0, 1, 0, 1],
  [0, 0, 1, 0],
  [0, 1, 0, 0],
  [1, 0, 0, 0],
];
const B = [
  [[0.5, 0, 0, 0]],
  [[0, 0, 0, -1]],
];
// Channel 0: 2*[1,2,3,4] + [0.5,0,0,0] = [2.5, 4, 6, 8].
// Channel 1: y[j] = sum_i x[i] W1[i][j]: y0 = x3 = 40, y1 = x0 + x2 = 10 + 30 = 40, y2 = x1 = 20, y3 = x0 = 10; bias -> [40, 40, 20, 9].
// (The transposed convention, y[j] = sum_i x[i] W1[j][i], would give y0 = 20 + 40 = 60.)
const EXPECTED = [2.5, 40, 4, 40, 6, 20, 8, 9];

describe('ChannelwiseDense', () => {
  before(async () => {
    await initBackend('wasm');
  });

  it('has m*n^4 weights + m*n^2 biases (pool5 6x6x256: 331,776 + 9,216)', () => {
    const big = modelWith(new ChannelwiseDense({ seed: 1 }), 6, 256);
    assert.equal(big.countParams(), 256 * 6 ** 4 + 256 * 6 ** 2);
    assert.equal(big.countParams(), 340992);
    const small = modelWith(new ChannelwiseDense({ seed: 1 }), 3, 5);
    assert.equal(small.countParams(), 5 * 81 + 5 * 9);
    assert.deepEqual(small.layers[1].getWeights().map((w) => w.shape), [[5, 9, 9], [5, 1, 9]]);
  });

  it('matches a hand-computed n=2, m=2 case', async () => {
    const layer = new ChannelwiseDense({ seed: 1 });
    const model = modelWith(layer, 2, 2);
    layer.setWeights([tf.tensor3d([W0, W1]), tf.tensor3d(B)]);
    const y = model.predict(tf.tensor4d(X, [1, 2, 2, 2])) as tf.Tensor;
    assert.deepEqual(y.shape, [1, 2, 2, 2]);
    assert.deepEqual(Array.from(await y.data()), EXPECTED);
  });

  it('treats batch items independently', async () => {
    const layer = new ChannelwiseDense({ seed: 1 });
    const model = modelWith(layer, 2, 2);
    layer.setWeights([tf.tensor3d([W0, W1]), tf.tensor3d(B)]);
    const y = model.predict(tf.tensor4d([...X.map((v) => -v), ...X], [2, 2, 2, 2])) as tf.Tensor;
    // Second item is the hand case; first is its negation through the same affine map.
    const out = Array.from(await y.data());
    assert.deepEqual(out.slice(8), EXPECTED);
    assert.deepEqual(out.slice(0, 8), [-1.5, -40, -4, -40, -6, -20, -8, -11]);
  });

  it('has no cross-channel connections: perturbing channel 0 leaves channel 1 bit-identical', async () => {
    const model = modelWith(new ChannelwiseDense({ seed: 5 }), 3, 4);
    const base = tf.randomNormal([2, 3, 3, 4], 0, 1, 'float32', 9);
    const mask = tf.tensor4d(Array.from({ length: 2 * 9 * 4 }, (_, i) => (i % 4 === 0 ? 1 : 0)), [2, 3, 3, 4]);
    const perturbed = base.add(mask.mul(3.7));
    const y0 = await (model.predict(base) as tf.Tensor).data();
    const y1 = await (model.predict(perturbed) as tf.Tensor).data();
    let changed0 = 0;
    for (let i = 0; i < y0.length; i++) {
      if (i % 4 === 0) changed0 += y0[i] !== y1[i] ? 1 : 0;
      else assert.equal(y1[i], y0[i], `channel ${i % 4} changed at ${i}`);
    }
    assert.equal(changed0, 18, 'every channel-0 output should move');
  });

  it('gradients on wasm: dL/dW[c][i][j] = sum_b x[b,i,c], dL/db = batch, dL/dx[b,i,c] = sum_j W[c][i][j] for L = sum(y)', async () => {
    assert.equal(tf.getBackend(), 'wasm');
    const layer = new ChannelwiseDense({ seed: 1 });
    const model = modelWith(layer, 2, 2);
    layer.setWeights([tf.tensor3d([W0, W1]), tf.tensor3d(B)]);
    const x = tf.tensor4d([...X.map((v) => v * 0.5), ...X], [2, 2, 2, 2]);
    const [kernel, bias] = layer.trainableWeights.map((w) => w.read() as tf.Variable);
    const { grads } = tf.variableGrads(() => tf.sum(model.apply(x) as tf.Tensor) as tf.Scalar, [kernel, bias]);
    // sum over the batch of channel c at position i: 1.5 * X.
    const xs = [
      [1.5, 3, 4.5, 6],
      [15, 30, 45, 60],
    ];
    const expectedKernel = xs.flatMap((col) => col.flatMap((v) => [v, v, v, v]));
    assert.deepEqual(Array.from(await grads[kernel.name].data()), expectedKernel);
    assert.deepEqual(Array.from(await grads[bias.name].data()), new Array(8).fill(2));
    const dx = await tf.grad((input: tf.Tensor) => tf.sum(model.apply(input) as tf.Tensor))(x).data();
    // Row sums: W0 rows all 2; W1 rows 2, 1, 1, 1. NHWC order interleaves the channels.
    assert.deepEqual(Array.from(dx), [2, 2, 2, 1, 2, 1, 2, 1, 2, 2, 2, 1, 2, 1, 2, 1]);
  });

  it('init is seeded: same seed same kernel, different seed different; std ~ sqrt(1/(n*n))', async () => {
    const k = async (seed: number) => (await modelWith(new ChannelwiseDense({ seed }), 4, 32).layers[1].getWeights()[0].data()) as Float32Array;
    const a = await k(3);
    const b = await k(3);
    const c = await k(4);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
    const std = Math.sqrt(a.reduce((s, v) => s + v * v, 0) / a.length);
    assert.ok(Math.abs(std - 0.25) < 0.01, `std ${std}`);
  });

  it('serialises its config and rebuilds from it', () => {
    const layer = new ChannelwiseDense({ name: 'cw', seed: 12, stddev: 0.1 });
    const config = layer.getConfig();
    assert.equal(config.seed, 12);
    assert.equal(config.stddev, 0.1);
    const copy = ChannelwiseDense.fromConfig(ChannelwiseDense, config) as ChannelwiseDense;
    assert.equal(copy.name, 'cw');
    assert.deepEqual(copy.getConfig(), config);
    assert.equal(tf.serialization.SerializationMap.getMap().classNameMap.ChannelwiseDense[0], ChannelwiseDense);
  });
});
