import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { before, describe, it } from 'mocha';
import { trainPretext } from '../helpers/stages.js';
import { initBackend } from '../../src/engine/backend.js';
import { loadModel } from '../../src/engine/checkpoint.js';
import { writeSyntheticVoc } from '../../src/data/synthetic.js';
import { pretextConfig } from '../helpers/config.js';
import type { DatasetConfig, ModelConfig } from '../../src/experiment/types.js';

describe('alexnet-small with batchNorm during pretext', function () {
  let root: string;
  let dataset: DatasetConfig;
  const model: ModelConfig = { encoder: 'alexnet-small', inputSize: 32, widthMultiplier: 0.125, batchNorm: true };

  before(async () => {
    await initBackend('wasm');
    root = await mkdtemp(join(tmpdir(), 'ceb-bn-'));
    dataset = { format: 'voc', root: join(root, 'voc') };
    await writeSyntheticVoc({ out: dataset.root, images: 16, size: 40, seed: 5, classes: 3 });
  });

  it('trains with BatchNorm and saves a plain encoder that computes what the trained one computes at inference', async () => {
    const outDir = join(root, 'ce');
    const config = pretextConfig({ method: 'context-encoder', steps: 6, batchSize: 8, lr: 0.003, logEvery: 1, split: 'trainval', heldoutImages: 4 });
    await trainPretext({ config, model, dataset, seed: 2, outDir });
    const generator = await loadModel(join(outDir, 'generator'));
    const encoder = await loadModel(join(outDir, 'checkpoint'));
    // The generator keeps its BatchNorm layers, with moving statistics that training moved away from their initial 0 / 1.
    const bn = generator.getLayer('conv2_bn');
    const [, , movingMean] = bn.getWeights();
    assert.ok(tf.tidy(() => movingMean.abs().max().dataSync()[0]) > 1e-3, 'moving mean never updated');
    assert.ok(!encoder.layers.some((l) => l.getClassName() === 'BatchNormalization'), 'the saved encoder still has BatchNorm layers');
    const trained = tf.model({ inputs: generator.inputs, outputs: generator.getLayer('pool5').output as tf.SymbolicTensor });
    const x = tf.randomUniform([4, 32, 32, 3], -1, 1, 'float32', 9);
    const [want, got] = [trained.predict(x) as tf.Tensor, encoder.predict(x) as tf.Tensor];
    const scale = want.abs().max().dataSync()[0];
    const diff = want.sub(got).abs().max().dataSync()[0];
    assert.ok(scale > 0.01, 'pool5 is all zeros');
    assert.ok(diff <= 1e-4 * scale, `folded encoder differs by ${diff} (pool5 max ${scale})`);
    tf.dispose([x, want, got]);
    generator.dispose();
    encoder.dispose();
  });
});
