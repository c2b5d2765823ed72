import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { before, describe, it } from 'mocha';
import { initBackend } from '../../src/engine/backend.js';
import { rescaleWithinLayers } from '../../src/downstream/transfer.js';
import { alexnetWidths, buildAlexNetEncoder } from '../../src/models/alexnet.js';

describe('data-dependent rescaling (Krähenbühl et al.)', () => {
  before(() => initBackend('wasm'));

  it('gives every conv channel unit pre-activation std on the calibration batch; conv1 fires as before', () => {
    const model = buildAlexNetEncoder({ inputSize: 67, widths: alexnetWidths(0.125), seed: 9 });
    // Scale conv2 down 50x, as training might leave it: the rescaling must undo that.
    const conv2 = model.getLayer('conv2');
    conv2.setWeights(conv2.getWeights().map((w) => w.mul(0.02)));
    const x = tf.randomUniform([8, 67, 67, 3], -1, 1, 'float32', 4) as tf.Tensor4D;
    const conv1 = tf.model({ inputs: model.inputs, outputs: model.getLayer('conv1').output as tf.SymbolicTensor });
    const firing = () => Array.from((conv1.predict(x) as tf.Tensor).greater(0).dataSync());
    const before = firing();
    rescaleWithinLayers(model, x);
    assert.deepEqual(firing(), before);

    let input: tf.Tensor = x;
    for (const layer of model.layers.slice(1)) {
      if (layer.getClassName() === 'Conv2D') {
        const [kernel, bias] = layer.getWeights();
        const cfg = layer.getConfig() as { strides: [number, number]; padding: 'same' | 'valid' };
        const pre = tf.conv2d(input as tf.Tensor4D, kernel as tf.Tensor4D, cfg.strides, cfg.padding).add(bias);
        const std = tf.moments(pre, [0, 1, 2]).variance.sqrt().dataSync();
        for (const s of std) assert.ok(Math.abs(s - 1) < 1e-3, `${layer.name}: std ${s}`);
      }
      input = layer.apply(input) as tf.Tensor;
    }
    model.dispose();
  });
});
