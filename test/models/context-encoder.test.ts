import assert from 'node:assert/strict';
import { before, describe, it } from 'mocha';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/engine/backend.js';
import { UserError } from '../../src/errors.js';
import { ALEXNET_WIDTHS, alexnetWidths, buildAlexNetEncoder } from '../../src/models/alexnet.js';
import { buildContextEncoder, defaultDecoderWidths } from '../../src/models/context-encoder.js';
import { ResizeBilinear } from '../../src/models/resize.js';
import { patternImage, sameBits, weightValues } from './helpers.js';

const small = (seed = 1, inputSize = 99) => ({ encoder: { inputSize, widths: alexnetWidths(0.125), seed } });

describe('context encoder (AlexNet)', () => {
  before(async () => {
    await initBackend('wasm');
  });

  it('generator maps [S,S,3] to [S,S,3] in (-1, 1) at 99 and 67; encoder gives pool5', async () => {
    for (const [size, n] of [
      [99, 2],
      [67, 1],
    ]) {
      const { generator, encoder } = buildContextEncoder(small(1, size));
      assert.deepEqual(generator.outputs[0].shape, [null, size, size, 3]);
      assert.deepEqual(encoder.outputs[0].shape, [null, n, n, 32]);
      const y = generator.predict(patternImage(2, size)) as tf.Tensor;
      assert.deepEqual(y.shape, [2, size, size, 3]);
      const values = await y.data();
      assert.ok(values.every((v) => v > -1 && v < 1));
      tf.dispose([y, generator.getWeights()]);
    }
  });

  it('layer order: AlexNet, cwfc, 1x1 mix, five 4x4/2 up-convs (tanh last), resize; decoder reaches pool5 x 32', () => {
    const { generator } = buildContextEncoder(small());
    assert.deepEqual(
      generator.layers.slice(1).map((l) => l.name),
      ['conv1', 'pool1', 'conv2', 'pool2', 'conv3', 'conv4', 'conv5', 'pool5', 'cwfc', 'mix', 'upconv1', 'upconv2', 'upconv3', 'upconv4', 'upconv5', 'resize'],
    );
    assert.deepEqual(generator.getLayer('upconv5').outputShape, [null, 64, 64, 3]);
    assert.equal(generator.getLayer('upconv5').getConfig().activation, 'tanh');
    assert.equal(generator.getLayer('upconv1').getConfig().activation, 'relu');
    assert.deepEqual(generator.getLayer('mix').getConfig().kernelSize, [1, 1]);
    // pool5 2x2x32: the channel-wise FC has 32 * 2^4 + 32 * 2^2 parameters.
    assert.equal(generator.getLayer('cwfc').countParams(), 32 * 16 + 32 * 4);
  });

  it('full size: 227 -> pool5 6x6x256, decoder 192 resized to 227, default decoder widths [128,64,64,32,3]', () => {
    assert.deepEqual(defaultDecoderWidths(256), [128, 64, 64, 32, 3]);
    assert.deepEqual(defaultDecoderWidths(32), [16, 8, 8, 4, 3]);
    const { generator, encoder } = buildContextEncoder({ encoder: { inputSize: 227, widths: ALEXNET_WIDTHS, seed: 1 } });
    assert.deepEqual(encoder.outputs[0].shape, [null, 6, 6, 256]);
    assert.deepEqual(generator.getLayer('upconv5').outputShape, [null, 192, 192, 3]);
    assert.deepEqual(generator.outputs[0].shape, [null, 227, 227, 3]);
    // The paper's figure: a full FC on pool5 would need 9216^2 ~ 85M weights; channel-wise needs 256 * 36^2.
    assert.equal(generator.getLayer('cwfc').countParams(), 256 * 36 * 36 + 256 * 36);
    // decoder parameters: mix 256*256+256; up-convs 4*4*cin*cout + cout
    const decoder = 256 * 256 + 256 + 16 * (256 * 128 + 128 * 64 + 64 * 64 + 64 * 32 + 32 * 3) + 128 + 64 + 64 + 32 + 3;
    assert.equal(generator.countParams(), encoder.countParams() + 256 * 36 * 36 + 256 * 36 + decoder);
    tf.dispose(generator.getWeights());
  });

  it('encoder shares the generator layer objects and computes its pool5', async () => {
    const { generator, encoder } = buildContextEncoder(small(4));
    for (const name of ['conv1', 'conv2', 'conv3', 'conv4', 'conv5']) assert.equal(encoder.getLayer(name), generator.getLayer(name));
    assert.equal(encoder.layers.length, 9);
    const x = patternImage(1, 99);
    const probe = tf.model({ inputs: generator.inputs, outputs: generator.getLayer('pool5').output as tf.SymbolicTensor });
    const a = await (encoder.predict(x) as tf.Tensor).data();
    const b = await (probe.predict(x) as tf.Tensor).data();
    assert.ok(sameBits(a as Float32Array, b as Float32Array));
    // Changing a shared weight through the generator changes the encoder's output.
    const conv5 = generator.getLayer('conv5');
    conv5.setWeights(conv5.getWeights().map((w) => w.mul(2)));
    const c = await (encoder.predict(x) as tf.Tensor).data();
    a.forEach((v, i) => assert.ok(Math.abs(c[i] - 2 * v) <= 1e-5 * Math.max(1, Math.abs(v)), `pool5[${i}] ${c[i]} vs 2*${v}`));
  });

  it('same seed gives identical weights; different seeds differ in encoder and decoder', async () => {
    const a = await weightValues(buildContextEncoder(small(9)).generator);
    const b = await weightValues(buildContextEncoder(small(9)).generator);
    const c = await weightValues(buildContextEncoder(small(10)).generator);
    a.forEach((w, i) => assert.ok(sameBits(w, b[i]), `weight ${i} differs`));
    const kernels = [0, 10, 12, 14]; // conv1, cwfc, mix, upconv1 kernels
    for (const i of kernels) assert.ok(!sameBits(a[i], c[i]), `weight ${i} equal across seeds`);
    // The encoder part equals a plain AlexNet from the same seed: the random-init baseline is the untrained context encoder's encoder.
    const plain = await weightValues(buildAlexNetEncoder(small(9).encoder));
    plain.forEach((w, i) => assert.ok(sameBits(w, a[i]), `AlexNet weight ${i} differs`));
  });

  it('optional dropout after the channel-wise FC; bad decoder widths are a UserError', () => {
    const { generator } = buildContextEncoder({ ...small(), dropout: 0.5 });
    assert.equal(generator.layers[10].name, 'cwfc_dropout');
    assert.equal(generator.getLayer('cwfc_dropout').getConfig().rate, 0.5);
    assert.throws(() => buildContextEncoder({ ...small(), decoderWidths: [8, 8, 8, 3] }), UserError);
    assert.throws(() => buildContextEncoder({ ...small(), decoderWidths: [8, 8, 8, 8, 4] }), UserError);
    assert.throws(() => buildContextEncoder({ ...small(), dropout: 1 }), UserError);
    assert.throws(() => buildContextEncoder(small(1, 60)), UserError);
  });

  it('resize layer: corner-aligned bilinear values and an exact gradient on wasm', async () => {
    assert.equal(tf.getBackend(), 'wasm');
    const input = tf.input({ shape: [2, 2, 1] });
    const model = tf.model({ inputs: input, outputs: new ResizeBilinear({ height: 3, width: 3 }).apply(input) as tf.SymbolicTensor });
    // Corners stay, the middle row/column average their neighbours.
    const y = await (model.predict(tf.tensor4d([0, 2, 4, 6], [1, 2, 2, 1])) as tf.Tensor).data();
    assert.deepEqual(Array.from(y), [0, 1, 2, 2, 3, 4, 4, 5, 6]);
    // Resize is linear, so d/dx sum(w * resize(x)) = R^T w. Column i of R is resize(e_i).
    const w = tf.tensor4d([1, -2, 3, 0.5, 4, -1, 2, 2, -3], [1, 3, 3, 1]);
    const grad = await tf.grad((x: tf.Tensor) => tf.sum(tf.mul(model.apply(x) as tf.Tensor, w)))(tf.zeros([1, 2, 2, 1])).data();
    for (let i = 0; i < 4; i++) {
      const e = tf.oneHot([i], 4).reshape([1, 2, 2, 1]).toFloat();
      const exact = (await tf.sum(tf.mul(model.predict(e) as tf.Tensor, w)).data())[0];
      assert.ok(Math.abs(grad[i] - exact) < 1e-6, `grad[${i}] ${grad[i]} vs ${exact}`);
    }
  });

  it('gradients on wasm reach every weight and agree with the cpu backend', async () => {
    assert.equal(tf.getBackend(), 'wasm');
    const { generator } = buildContextEncoder(small(2, 67));
    const vars = generator.trainableWeights.map((w) => w.read() as tf.Variable);
    assert.equal(vars.length, 24); // kernel + bias: 5 convs, cwfc, mix, 5 up-convs
    const x = patternImage(2, 67);
    const lossGrads = async () => {
      const { value, grads } = tf.variableGrads(
        () => tf.mean(tf.square(tf.sub(generator.apply(x, { training: true }) as tf.Tensor, x))) as tf.Scalar,
        vars,
      );
      return { loss: (await value.data())[0], grads: await Promise.all(vars.map(async (v) => (await grads[v.name].data()) as Float32Array)) };
    };
    const wasm = await lossGrads();
    await tf.setBackend('cpu');
    try {
      const cpu = await lossGrads();
      assert.ok(Math.abs(wasm.loss - cpu.loss) < 1e-5 * cpu.loss);
      vars.forEach((v, i) => {
        const g = wasm.grads[i];
        assert.ok(g.every(Number.isFinite), `${v.name}: non-finite gradient`);
        assert.ok(g.some((e) => e !== 0), `${v.name}: zero gradient`);
        const scale = Math.max(...cpu.grads[i].map(Math.abs));
        const diff = Math.max(...g.map((e, j) => Math.abs(e - cpu.grads[i][j])));
        assert.ok(diff <= 1e-3 * scale, `${v.name}: wasm vs cpu gradient differs by ${diff} (scale ${scale})`);
      });
    } finally {
      await tf.setBackend('wasm');
    }
  });
});
