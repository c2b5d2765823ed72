import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { describe, it } from 'mocha';
import { initBackend } from '../../src/engine/backend.js';

async function on(backend: 'wasm' | 'cpu', fn: () => tf.Tensor): Promise<number[]> {
  await initBackend(backend);
  const t = fn();
  const v = Array.from(await t.data());
  t.dispose();
  return v;
}

describe('wasm Tile', () => {
  it('matches cpu for every rank, broadcast pattern and dtype, and leaks nothing', async () => {
    await initBackend('wasm');
    assert.equal(tf.getKernel(tf.Tile, 'wasm')?.kernelFunc.name, 'tile', 'the replacement is registered');
    const cases: [number[], number[]][] = [
      [[1, 1, 1, 5], [3, 4, 2, 1]],
      [[2, 3], [3, 5]],
      [[4], [7]],
      [[1], [1]],
      [[3, 1, 2], [1, 6, 1]],
      [[2, 2, 2, 3], [2, 1, 3, 2]],
      [[1, 2, 1, 3, 1], [2, 1, 3, 1, 4]],
      [[2, 3], [0, 2]],
    ];
    for (const [shape, reps] of cases) {
      for (const dtype of ['float32', 'int32', 'bool'] as const) {
        const n = shape.reduce((a, b) => a * b, 1);
        const values = Array.from({ length: n }, (_, i) => (dtype === 'bool' ? i % 3 === 0 : dtype === 'int32' ? i * 7 - 3 : Math.sin(i)));
        const fn = () => tf.tidy(() => tf.tile(tf.tensor(values as number[], shape, dtype), reps));
        const want = await on('cpu', fn);
        await initBackend('wasm');
        const before = tf.memory().numBytes;
        const got = await on('wasm', fn);
        assert.deepEqual(got, want, `${dtype} [${shape}] x [${reps}]`);
        assert.equal(tf.memory().numBytes, before);
      }
    }
  });

  it('gives BatchNorm the same gradient as cpu', async () => {
    const x = Array.from({ length: 2 * 3 * 3 * 4 }, (_, i) => Math.sin(i * 0.9));
    const grad = (backend: 'wasm' | 'cpu') => on(backend, () => tf.tidy(() => {
      const f = (t: tf.Tensor) => tf.batchNorm(t as tf.Tensor4D, tf.moments(t, [0, 1, 2]).mean, tf.moments(t, [0, 1, 2]).variance, tf.ones([4]), tf.ones([4]), 1e-5).square().sum();
      return tf.grad(f)(tf.tensor4d(x, [2, 3, 3, 4]));
    }));
    const want = await grad('cpu');
    const got = await grad('wasm');
    got.forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-4 * Math.max(1, Math.abs(want[i])), `${i}: ${v} vs ${want[i]}`));
  });
});

describe('wasm Sum and Mean over leading axes', () => {
  it('match cpu for leading, trailing, all and mixed axes, with keepDims, and leak nothing', async () => {
    await initBackend('wasm');
    assert.equal(tf.getKernel(tf.Sum, 'wasm')?.kernelFunc.name, 'sum', 'the replacement is registered');
    const shape = [3, 4, 5, 6];
    const values = Array.from({ length: 360 }, (_, i) => Math.sin(i * 0.37) * 10);
    const axesList: (number | number[])[] = [[0, 1, 2], [0], [0, 1], [1, 0], [3], [1, 2], [0, 1, 2, 3], -4, [0, 2]];
    for (const op of ['sum', 'mean'] as const) {
      for (const axes of axesList) {
        for (const keepDims of [false, true]) {
          const fn = () => tf.tidy(() => tf[op](tf.tensor(values, shape), axes, keepDims));
          await initBackend('cpu');
          const cpu = fn();
          const want = Array.from(await cpu.data());
          const wantShape = cpu.shape;
          cpu.dispose();
          await initBackend('wasm');
          const before = tf.memory().numBytes;
          const t = fn();
          assert.deepEqual(t.shape, wantShape);
          const got = Array.from(await t.data());
          t.dispose();
          got.forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-4 * Math.max(1, Math.abs(want[i])), `${op} ${JSON.stringify(axes)} ${keepDims} at ${i}: ${v} vs ${want[i]}`));
          assert.equal(tf.memory().numBytes, before);
        }
      }
    }
  });
});

describe('wasm Identity', () => {
  it('shares the buffer (no new data buffer) and keeps it alive until the last reference goes', async () => {
    await initBackend('wasm');
    assert.equal(tf.getKernel(tf.Identity, 'wasm')?.kernelFunc.name, 'identity', 'the replacement is registered');
    const before = tf.memory();
    const x = tf.tensor([1, 2, 3, 4], [2, 2]);
    const y = tf.clone(x);
    assert.equal(tf.memory().numDataBuffers - before.numDataBuffers, 1);
    x.dispose();
    assert.deepEqual(Array.from(await y.data()), [1, 2, 3, 4]);
    y.dispose();
    assert.equal(tf.memory().numDataBuffers, before.numDataBuffers);
    assert.equal(tf.memory().numBytes, before.numBytes);
    const s = tf.clone(tf.tensor(['a', 'b']));
    assert.deepEqual(await s.data(), ['a', 'b']);
  });

  it('leaves gradients through saved tensors equal to cpu', async () => {
    const x = Array.from({ length: 24 }, (_, i) => Math.sin(i));
    const grad = (backend: 'wasm' | 'cpu') => on(backend, () => tf.tidy(() =>
      tf.grad((t: tf.Tensor) => tf.relu(t).mul(tf.exp(t)).square().sum())(tf.tensor(x, [4, 6]))));
    const want = await grad('cpu');
    const got = await grad('wasm');
    got.forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-5 * Math.max(1, Math.abs(want[i])), `${i}: ${v} vs ${want[i]}`));
  });
});
