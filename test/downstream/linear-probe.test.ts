import assert from 'node:assert/strict';
import { describe, it } from 'mocha';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/engine/backend.js';
import { Rng } from '../../src/engine/random.js';
import { LINEAR_PROBE_DEFAULTS, probeScores, trainLinearProbe } from '../../src/downstream/linear-probe.js';

/** n points per class in d dims: class c sits at +3 on axis c, with N(0, 1) noise elsewhere (linearly separable with margin). */
function separable(classes: number, perClass: number, dims: number, seed: number): { x: Float32Array; labels: number[] } {
  const rng = new Rng(seed);
  const x = new Float32Array(classes * perClass * dims);
  const labels: number[] = [];
  for (let c = 0; c < classes; c++) {
    for (let i = 0; i < perClass; i++) {
      const row = labels.length;
      for (let j = 0; j < dims; j++) x[row * dims + j] = 0.3 * rng.normal();
      x[row * dims + c] += 3;
      labels.push(c);
    }
  }
  return { x, labels };
}

describe('linear probe', () => {
  before(async () => {
    await initBackend('wasm');
  });

  for (const [loss, optimizer] of [['softmax', 'adam'], ['sigmoid', 'sgd']] as const) {
    it(`reaches 100% on linearly separable data (${loss}, ${optimizer})`, async () => {
      const before = tf.memory().numTensors;
      const train = separable(5, 40, 12, 1);
      const test = separable(5, 20, 12, 2);
      const x = tf.tensor2d(train.x, [train.labels.length, 12]);
      const y = tf.tidy(() => tf.oneHot(tf.tensor1d(train.labels, 'int32'), 5).cast('float32') as tf.Tensor2D);
      const probe = trainLinearProbe(x, y, { ...LINEAR_PROBE_DEFAULTS, epochs: 20, batchSize: 32, lr: optimizer === 'sgd' ? 0.05 : 0.01, loss, optimizer, seed: 3 });
      tf.dispose([x, y]);
      assert.equal(tf.memory().numTensors, before);
      const scores = probeScores(probe, test.x, test.labels.length);
      const predicted = test.labels.map((_, i) => {
        const row = [...scores.subarray(i * 5, i * 5 + 5)];
        return row.indexOf(Math.max(...row));
      });
      assert.deepEqual(predicted, test.labels);
    });
  }

  it('is deterministic for a seed', async () => {
    const data = separable(3, 10, 6, 5);
    const run = (): number[] => {
      const x = tf.tensor2d(data.x, [30, 6]);
      const y = tf.oneHot(tf.tensor1d(data.labels, 'int32'), 3).cast('float32') as tf.Tensor2D;
      const probe = trainLinearProbe(x, y, { ...LINEAR_PROBE_DEFAULTS, epochs: 2, batchSize: 8, loss: 'softmax', seed: 9 });
      tf.dispose([x, y]);
      return [...probeScores(probe, data.x, 30)];
    };
    const first = run();
    assert.ok(first.some((v) => v !== 0));
    assert.deepEqual(run(), first);
  });
});
