import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { describe, it } from 'mocha';
import { initBackend } from '../../src/engine/backend.js';

/** Runs fn on a backend and returns its output values. */
async function on(backend: string, fn: () => tf.Tensor): Promise<Float32Array> {
  await tf.setBackend(backend);
  const t = fn();
  const v = (await t.data()) as Float32Array;
  t.dispose();
  return v;
}

describe('wasm BatchMatMul with transposed operands', () => {
  it('matches cpu for every transpose combination, batched and broadcast, and frees its temporaries', async () => {
    await initBackend('wasm');
    assert.equal(tf.getKernel(tf.BatchMatMul, 'wasm')?.kernelFunc.name, 'batchMatMul', 'the wrapper is registered');
    const cases: [number[], number[], boolean, boolean][] = [
      [[7, 5], [5, 3], false, false],
      [[5, 7], [5, 3], true, false],
      [[7, 5], [3, 5], false, true],
      [[5, 7], [3, 5], true, true],
      [[2, 6, 4], [2, 6, 9], true, false],
      [[3, 4, 6], [1, 9, 6], false, true],
    ];
    for (const [sa, sb, ta, tb] of cases) {
      const a = Array.from({ length: sa.reduce((x, y) => x * y) }, (_, i) => Math.sin(i * 1.3));
      const b = Array.from({ length: sb.reduce((x, y) => x * y) }, (_, i) => Math.cos(i * 0.7));
      const fn = () => tf.matMul(tf.tensor(a, sa), tf.tensor(b, sb), ta, tb);
      const want = await on('cpu', () => tf.tidy(fn));
      const before = tf.memory().numBytes;
      const got = await on('wasm', () => tf.tidy(fn));
      assert.equal(got.length, want.length);
      got.forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-5, `${sa} ${sb} ${ta} ${tb} at ${i}: ${v} vs ${want[i]}`));
      assert.equal(tf.memory().numBytes, before);
    }
  });

  it('gives a dense layer the same weight gradient as cpu', async () => {
    const x = Array.from({ length: 6 * 10 }, (_, i) => Math.sin(i));
    const w = Array.from({ length: 10 * 4 }, (_, i) => Math.cos(i * 0.3));
    const grad = async (backend: string) =>
      on(backend, () => tf.tidy(() => tf.grad((wt: tf.Tensor) => tf.matMul(tf.tensor2d(x, [6, 10]), wt as tf.Tensor2D).square().sum())(tf.tensor2d(w, [10, 4]))));
    const want = await grad('cpu');
    const got = await grad('wasm');
    got.forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-4 * Math.max(1, Math.abs(want[i])), `${i}: ${v} vs ${want[i]}`));
  });
});
