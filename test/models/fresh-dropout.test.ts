import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { before, describe, it } from 'mocha';
import { initBackend } from '../../src/engine/backend.js';
import { loadModel, saveModel } from '../../src/engine/checkpoint.js';
import { alexnetWidths } from '../../src/models/alexnet.js';
import { buildContextEncoder } from '../../src/models/context-encoder.js';
import { FreshDropout, freshDropoutLayers } from '../../src/models/fresh-dropout.js';

describe('models/fresh-dropout (wasm)', () => {
  before(() => initBackend('wasm'));

  function model(seed: number): { model: tf.LayersModel; layer: FreshDropout } {
    const layer = new FreshDropout({ rate: 0.5, seed });
    const input = tf.input({ shape: [64] });
    return { model: tf.model({ inputs: input, outputs: layer.apply(input) as tf.SymbolicTensor }), layer };
  }

  const masks = (m: tf.LayersModel, steps: number): number[][] =>
    Array.from({ length: steps }, () => tf.tidy(() => [...(m.apply(tf.ones([1, 64]), { training: true }) as tf.Tensor).dataSync()]));

  it('draws a fresh mask every training step (rate 0.5, kept units scaled by 2), the same sequence for the same seed', () => {
    const [a, b, c] = [masks(model(7).model, 4), masks(model(7).model, 4), masks(model(8).model, 4)];
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
    for (let i = 1; i < a.length; i++) assert.notDeepEqual(a[i], a[0], `step ${i} repeats step 0's mask`);
    for (const mask of a) {
      assert.ok(mask.every((v) => v === 0 || v === 2));
      const kept = mask.filter((v) => v === 2).length;
      assert.ok(kept > 16 && kept < 48, `${kept} of 64 kept`);
    }
  });

  it('passes inputs through at inference; its stream restores for a resumed run', () => {
    const { model: m, layer } = model(3);
    const x = tf.randomNormal([2, 64], 0, 1, 'float32', 1);
    assert.deepEqual([...(m.predict(x) as tf.Tensor).dataSync()], [...x.dataSync()]);
    masks(m, 2);
    const saved = layer.stream.getState();
    const next = masks(m, 2);
    layer.stream.setState(saved);
    assert.deepEqual(masks(m, 2), next);
    x.dispose();
  });

  it('the context encoder puts it after the channel-wise FC; a saved model reloads with it', async () => {
    const { generator } = buildContextEncoder({ encoder: { inputSize: 67, widths: alexnetWidths(0.125), seed: 1 }, dropout: 0.5 });
    const layers = freshDropoutLayers(generator);
    assert.deepEqual(layers.map((l) => [l.name, l.rate]), [['cwfc_dropout', 0.5]]);
    const names = generator.layers.map((l) => l.name);
    assert.equal(names.indexOf('cwfc_dropout'), names.indexOf('cwfc') + 1);
    const dir = await mkdtemp(join(tmpdir(), 'ceb-dropout-'));
    try {
      await saveModel(generator, join(dir, 'g'));
      const loaded = await loadModel(join(dir, 'g'));
      assert.equal(freshDropoutLayers(loaded).length, 1);
      const x = tf.randomUniform([1, 67, 67, 3], -1, 1, 'float32', 2);
      const [p, q] = [generator.predict(x) as tf.Tensor, loaded.predict(x) as tf.Tensor];
      assert.ok(tf.max(tf.abs(tf.sub(p, q))).dataSync()[0] < 1e-6);
      tf.dispose([x, p, q]);
      loaded.dispose();
    } finally {
      generator.dispose();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
