/**
 * The transfer optimiser against updates computed by hand: SGD with momentum
 * (tf.train.momentum's form: a = m·a + g, w -= lr·a), weight decay, global
 * gradient clipping, the step schedule for both optimisers, and Adam without
 * any of them exactly as tf.train.adam.
 */
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { describe, it } from 'mocha';
import { TransferOptimizer, type OptimizerConfig } from '../../src/downstream/transfer-optimizer.js';
import { initBackend } from '../../src/engine/backend.js';

/** A variable of `values` with a name no other test uses. */
function variable(values: number[]): tf.Variable {
  return tf.tidy(() => tf.variable(tf.tensor1d(values), true, `transfer_opt_test_${Math.random()}`));
}

/** loss = sum(c · w) over the variables: each gradient is its c, whatever w. */
function linearLoss(vars: tf.Variable[], cs: number[][]): () => tf.Scalar {
  return () => tf.addN(vars.map((v, i) => v.mul(tf.tensor1d(cs[i])).sum())) as tf.Scalar;
}

function values(v: tf.Variable): number[] {
  return Array.from(v.dataSync());
}

/** Within float32 rounding of `want` (Adam's bias corrections round more: `tolerance`). */
function assertClose(got: number[], want: number[], what: string, tolerance = 1e-6): void {
  assert.equal(got.length, want.length, what);
  got.forEach((g, i) => assert.ok(Math.abs(g - want[i]) < tolerance * Math.max(1, Math.abs(want[i])), `${what}[${i}]: ${g}, expected ${want[i]}`));
}

/** Runs `steps` steps (numbered from 1) of loss sum(c · w) on fresh variables; returns their values after each step. Leaks no tensor. */
function run(config: OptimizerConfig, head: number[], encoder: number[] | null, c: number[][], steps: number): number[][][] {
  const before = tf.memory().numTensors;
  const vars = [variable(head), ...(encoder ? [variable(encoder)] : [])];
  const opt = new TransferOptimizer([vars[0]], vars.slice(1), config);
  const after: number[][][] = [];
  for (let step = 1; step <= steps; step++) {
    opt.step(linearLoss(vars, c), step);
    after.push(vars.map(values));
  }
  opt.dispose();
  tf.dispose(vars);
  assert.equal(tf.memory().numTensors, before, 'tensors left behind');
  return after;
}

describe('downstream/transfer-optimizer', () => {
  for (const backend of ['wasm', 'cpu'] as const) {
    describe(backend, () => {
      before(() => initBackend(backend));

      it('SGD with momentum 0.9: two steps as computed by hand', () => {
        const [s1, s2] = run({ optimizer: 'sgd', lr: 0.1 }, [1, -2], null, [[3, 4]], 2);
        // Step 1: a = g = [3, 4]; w = [1, -2] - 0.1 * a.
        assertClose(s1[0], [0.7, -2.4], 'step 1');
        // Step 2: a = 0.9 * [3, 4] + [3, 4] = [5.7, 7.6]; w -= 0.1 * a.
        assertClose(s2[0], [0.13, -3.16], 'step 2');
      });

      it('weight decay is added to the gradient, and the schedule lowers lr from the boundary on', () => {
        const config: OptimizerConfig = { optimizer: 'sgd', momentum: 0.9, lr: 0.1, weightDecay: 0.01, lrStepEvery: 1, lrGamma: 0.5 };
        const [s1, s2] = run(config, [1, -2], null, [[3, 4]], 2);
        // Step 1 (lr 0.1): g = [3 + 0.01, 4 - 0.02] = [3.01, 3.98] = a; w = [1 - 0.301, -2 - 0.398].
        assertClose(s1[0], [0.699, -2.398], 'step 1');
        // Step 2 (lr 0.05): g = [3 + 0.00699, 4 - 0.02398]; a = 0.9 * [3.01, 3.98] + g = [5.71599, 7.55802]; w -= 0.05 * a.
        assertClose(s2[0], [0.699 - 0.05 * 5.71599, -2.398 - 0.05 * 7.55802], 'step 2');
      });

      it('the encoder steps at lr x encoderLrScale on the same schedule', () => {
        const config: OptimizerConfig = { optimizer: 'sgd', momentum: 0.5, lr: 0.1, encoderLrScale: 0.1, lrStepEvery: 1, lrGamma: 0.5 };
        const [s1, s2] = run(config, [0], [0], [[1], [2]], 2);
        // Head: a = 1, then 1.5; w = -0.1 * 1 - 0.05 * 1.5. Encoder: a = 2, then 3; w = -0.01 * 2 - 0.005 * 3.
        assertClose(s1.flat(), [-0.1, -0.02], 'step 1');
        assertClose(s2.flat(), [-0.1 - 0.075, -0.02 - 0.015], 'step 2');
      });

      it('clipping scales head and encoder gradients together to the global norm, before the decay', () => {
        // Gradients [3, 4] and [12]: global norm 13, clipped to 6.5 (factor 0.5); the decay (w = 0 here) adds nothing.
        const [s1] = run({ optimizer: 'sgd', lr: 1, clipGradNorm: 6.5, weightDecay: 0.5 }, [0, 0], [0], [[3, 4], [12]], 1);
        assertClose(s1.flat(), [-1.5, -2, -6], 'clipped step');
        // Below the limit nothing changes.
        const [u1] = run({ optimizer: 'sgd', lr: 1, clipGradNorm: 100 }, [0, 0], [0], [[3, 4], [12]], 1);
        assertClose(u1.flat(), [-3, -4, -12], 'unclipped step');
      });

      it('Adam follows the schedule: with a constant gradient each step moves a weight by about its lr', () => {
        // m-hat = g and v-hat = g^2 at every step of a constant gradient, so the step is lr * g / (|g| + eps).
        const [s1, s2, s3] = run({ lr: 0.1, lrStepEvery: 2, lrGamma: 0.1 }, [1, 1], null, [[2, -3]], 3);
        assertClose(s1[0], [0.9, 1.1], 'step 1', 1e-5);
        assertClose(s2[0], [0.8, 1.2], 'step 2', 1e-5);
        assertClose(s3[0], [0.79, 1.21], 'step 3', 1e-5);
      });

      it('Adam without the new fields takes exactly the steps of tf.train.adam', () => {
        const c = [[0.3, -1.7, 2.2]];
        const got = run({ lr: 0.01 }, [0.5, -0.25, 2], null, c, 5).map((s) => s[0]);
        const w = variable([0.5, -0.25, 2]);
        const reference = tf.train.adam(0.01);
        const want: number[][] = [];
        for (let i = 0; i < 5; i++) {
          const { value, grads } = tf.variableGrads(linearLoss([w], c), [w]);
          (reference as tf.Optimizer).applyGradients(grads);
          tf.dispose([value, ...Object.values(grads)]);
          want.push(values(w));
        }
        reference.dispose();
        w.dispose();
        assert.deepEqual(got, want);
      });
    });
  }
});
