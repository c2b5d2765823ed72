import assert from 'node:assert/strict';
import { before, describe, it } from 'mocha';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/engine/backend.js';
import { UserError } from '../../src/errors.js';
import { ALEXNET_WIDTHS, alexnetWidths, buildAlexNetEncoder, pool5Size } from '../../src/models/alexnet.js';
import { patternImage, sameBits, weightValues } from './helpers.js';

describe('AlexNet encoder', () => {
  before(async () => {
    await initBackend('wasm');
  });

  it('pool5 side: 227 -> 6, 99 -> 2, 67 -> 1 (hand: conv1 (S-11)/4+1, three 3/2 pools)', () => {
    // 227: 55 -> 27 -> 13 -> 6.  99: 23 -> 11 -> 5 -> 2.  67: 15 -> 7 -> 3 -> 1.  128: 30 -> 14 -> 6 -> 2.
    assert.equal(pool5Size(227), 6);
    assert.equal(pool5Size(99), 2);
    assert.equal(pool5Size(67), 1);
    assert.equal(pool5Size(128), 2);
    assert.equal(pool5Size(163), 4);
  });

  it('rejects an input too small for pool5 with a UserError naming the minimum', () => {
    assert.throws(() => pool5Size(66), (err: unknown) => err instanceof UserError && /67/.test(err.message));
    assert.throws(
      () => buildAlexNetEncoder({ inputSize: 64, widths: alexnetWidths(0.1), seed: 1 }),
      (err: unknown) => err instanceof UserError && /at least 67x67/.test(err.message),
    );
  });

  it('width multiplier rounds and keeps at least one channel', () => {
    assert.deepEqual(alexnetWidths(1), [96, 256, 384, 384, 256]);
    assert.deepEqual(alexnetWidths(0.125), [12, 32, 48, 48, 32]);
    assert.deepEqual(alexnetWidths(0.001), [1, 1, 1, 1, 1]);
  });

  it('full AlexNet at 227: pool5 6x6x256, 3,747,200 parameters, paper layer names', () => {
    const model = buildAlexNetEncoder({ inputSize: 227, widths: ALEXNET_WIDTHS, seed: 7 });
    assert.deepEqual(model.outputs[0].shape, [null, 6, 6, 256]);
    // conv1 11*11*3*96+96, conv2 5*5*96*256+256, conv3 3*3*256*384+384, conv4 3*3*384*384+384, conv5 3*3*384*256+256
    assert.equal(model.countParams(), 34944 + 614656 + 885120 + 1327488 + 884992);
    assert.deepEqual(
      model.layers.slice(1).map((l) => l.name),
      ['conv1', 'pool1', 'conv2', 'pool2', 'conv3', 'conv4', 'conv5', 'pool5'],
    );
    const y = model.predict(patternImage(1, 227)) as tf.Tensor;
    assert.deepEqual(y.shape, [1, 6, 6, 256]);
    tf.dispose([y, model.getWeights()]);
  });

  it('small scale: 99 px with widths x0.125 gives pool5 2x2x32 and non-negative (ReLU + max-pool) features', async () => {
    const model = buildAlexNetEncoder({ inputSize: 99, widths: alexnetWidths(0.125), seed: 3 });
    const y = model.predict(patternImage(2, 99)) as tf.Tensor;
    assert.deepEqual(y.shape, [2, 2, 2, 32]);
    const values = await y.data();
    assert.ok(values.every((v) => v >= 0));
    assert.ok(values.some((v) => v > 0), 'all pool5 features are zero');
    y.dispose();
  });

  it('He-normal init: conv1 kernel std close to sqrt(2/(11*11*3)), biases zero', async () => {
    const model = buildAlexNetEncoder({ inputSize: 227, widths: alexnetWidths(0.5), seed: 11 });
    const [kernel, bias] = model.getLayer('conv1').getWeights();
    const k = (await kernel.data()) as Float32Array;
    const mean = k.reduce((a, b) => a + b, 0) / k.length;
    const std = Math.sqrt(k.reduce((a, b) => a + (b - mean) ** 2, 0) / k.length);
    const expected = Math.sqrt(2 / 363);
    // 363*48 = 17424 samples: the sample std is within ~1% of the true one.
    assert.ok(Math.abs(std - expected) / expected < 0.03, `std ${std} vs ${expected}`);
    assert.ok(Math.abs(mean) < 0.003);
    assert.ok((await bias.data()).every((v) => v === 0));
  });

  it('same seed gives identical weights, a different seed different ones', async () => {
    const cfg = { inputSize: 67, widths: alexnetWidths(0.1), seed: 42 };
    const a = await weightValues(buildAlexNetEncoder(cfg));
    const b = await weightValues(buildAlexNetEncoder(cfg));
    const c = await weightValues(buildAlexNetEncoder({ ...cfg, seed: 43 }));
    assert.equal(a.length, 10);
    a.forEach((w, i) => assert.ok(sameBits(w, b[i]), `weight ${i} differs for the same seed`));
    for (const i of [0, 2, 4, 6, 8]) assert.ok(!sameBits(a[i], c[i]), `kernel ${i} equal for different seeds`);
    // Layers draw from separate streams: conv1 and conv3 kernels are not the same numbers reshaped.
    assert.notEqual(a[0][0], a[4][0]);
  });
});
