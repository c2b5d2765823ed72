import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { describe, it } from 'mocha';
import { initBackend } from '../../src/engine/backend.js';
import { LeanAdam } from '../../src/engine/lean-adam.js';

/** Trains two variables for `steps` steps with `step`; returns their final values. */
function train(steps: number, step: (vars: tf.Variable[], loss: () => tf.Scalar) => void): number[][] {
  const vars = tf.tidy(() => [
    tf.variable(tf.tensor2d(Array.from({ length: 12 }, (_, i) => Math.sin(i)), [3, 4]), true, `lean_adam_test_w_${Math.random()}`),
    tf.variable(tf.tensor1d([0.5, -0.25, 2]), true, `lean_adam_test_b_${Math.random()}`),
  ]);
  const x = tf.tensor2d(Array.from({ length: 8 }, (_, i) => Math.cos(i * 0.7)), [2, 4]);
  const loss = () => tf.tidy(() => tf.matMul(x, vars[0], false, true).add(vars[1]).sub(0.3).square().sum() as tf.Scalar);
  for (let i = 0; i < steps; i++) step(vars, loss);
  const out = vars.map((v) => Array.from(v.dataSync()));
  tf.dispose([...vars, x]);
  return out;
}

describe('LeanAdam', () => {
  for (const backend of ['wasm', 'cpu'] as const) {
    it(`follows tf.train.adam over 20 steps on ${backend}, and leaks nothing`, async () => {
      await initBackend(backend);
      const opts = { lr: 0.05, beta1: 0.5, beta2: 0.999 };
      const reference = tf.train.adam(opts.lr, opts.beta1, opts.beta2);
      const want = train(20, (vars, loss) => tf.dispose(reference.minimize(loss, true, vars) ?? []));
      reference.dispose();
      const before = tf.memory().numTensors;
      const lean = new LeanAdam(opts);
      const got = train(20, (vars, loss) => tf.dispose(lean.minimize(loss, vars)));
      lean.dispose();
      assert.equal(tf.memory().numTensors, before);
      want.flat().forEach((w, i) => {
        const g = got.flat()[i];
        assert.ok(Math.abs(g - w) < 1e-5 * Math.max(1, Math.abs(w)), `${i}: ${g} vs ${w}`);
      });
      // The update actually moved the weights.
      assert.ok(Math.abs(got[1][0] - 0.5) > 0.01, `bias moved from 0.5 to ${got[1][0]}`);
    });
  }
});
