import assert from 'node:assert/strict';
import { describe, it } from 'mocha';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/engine/backend.js';
import { Rng } from '../../src/engine/random.js';
import { LINEAR_PROBE_DEFAULTS, poolForProbe, probePoolSize, trainLinearProbe } from '../../src/downstream/linear-probe.js';

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

  it('pools each layer to about the target size', () => {
    // 16x16x24 = 6144 values; target 1536 -> side 8, window 2.
    assert.equal(probePoolSize(16, 24, 1536), 2);
    assert.equal(probePoolSize(4, 256, 9216), 1);
    assert.equal(probePoolSize(2, 4, 1), 2);
    const pooled = tf.tidy(() => poolForProbe(tf.ones([3, 16, 16, 24]) as tf.Tensor4D, 1536));
    assert.deepEqual(pooled.shape, [3, 1536]);
    // An average of ones is one.
    assert.ok(pooled.dataSync().every((v) => Math.abs(v - 1) < 1e-6));
    pooled.dispose();
  });

  for (const [loss, optimizer] of [['softmax', 'adam'], ['sigmoid', 'sgd']] as const) {
    it(`reaches 100% on linearly separable data (${loss}, ${optimizer})`, async () => {
      const before = tf.memory().numTensors;
      const train = separable(5, 40, 12, 1);
      const test = separable(5, 20, 12, 2);
      const x = tf.tensor2d(train.x, [train.labels.length, 12]);
      const y = tf.tidy(() => tf.oneHot(tf.tensor1d(train.labels, 'int32'), 5).cast('float32') as tf.Tensor2D);
      const probe = await trainLinearProbe(x, y, { ...LINEAR_PROBE_DEFAULTS, epochs: 20, batchSize: 32, lr: optimizer === 'sgd' ? 0.05 : 0.01, loss, optimizer, seed: 3 });
      const xt = tf.tensor2d(test.x, [test.labels.length, 12]);
      const predicted = tf.tidy(() => probe.scores(xt).argMax(1));
      assert.deepEqual([...(await predicted.data())], test.labels);
      tf.dispose([x, y, xt, predicted]);
      probe.dispose();
      assert.equal(tf.memory().numTensors, before);
    });
  }

  it('is deterministic for a seed', async () => {
    const data = separable(3, 10, 6, 5);
    const run = async (): Promise<number[]> => {
      const x = tf.tensor2d(data.x, [30, 6]);
      const y = tf.oneHot(tf.tensor1d(data.labels, 'int32'), 3).cast('float32') as tf.Tensor2D;
      const probe = await trainLinearProbe(x, y, { ...LINEAR_PROBE_DEFAULTS, epochs: 2, batchSize: 8, loss: 'softmax', seed: 9 });
      const s = probe.scores(x);
      const out = [...(await s.data())];
      tf.dispose([x, y, s]);
      probe.dispose();
      return out;
    };
    assert.deepEqual(await run(), await run());
  });
});
