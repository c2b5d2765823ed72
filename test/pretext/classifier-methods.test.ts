import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { before, describe, it } from 'mocha';
import { trainPretext } from '../helpers/stages.js';
import { initBackend } from '../../src/engine/backend.js';
import { loadModel } from '../../src/engine/checkpoint.js';
import { writeSyntheticVoc } from '../../src/data/synthetic.js';
import { pretextConfig } from '../helpers/config.js';
import { rotateQuarterTurns } from '../../src/pretext/rotation.js';
import type { DatasetConfig, ModelConfig } from '../../src/experiment/types.js';

describe('rotation and supervised pretext methods', function () {
  let root: string;
  let dataset: DatasetConfig;
  const model: ModelConfig = { encoder: 'alexnet-small', inputSize: 32, widthMultiplier: 0.125 };

  before(async () => {
    await initBackend('wasm');
    root = await mkdtemp(join(tmpdir(), 'ceb-classifier-'));
    dataset = { format: 'voc', root: join(root, 'voc') };
    await writeSyntheticVoc({ out: dataset.root, images: 16, size: 40, seed: 3, classes: 3 });
  });

  it('rotates by quarter turns counter-clockwise', () => {
    // 2x2 image, pixel values a b / c d (one channel repeated): one turn gives b d / a c.
    const px = (v: number[]) => Float32Array.from(v.flatMap((x) => [x, x, x]));
    const image = px([1, 2, 3, 4]);
    assert.deepEqual(rotateQuarterTurns(image, 2, 0), image);
    assert.deepEqual(rotateQuarterTurns(image, 2, 1), px([2, 4, 1, 3]));
    assert.deepEqual(rotateQuarterTurns(image, 2, 2), px([4, 3, 2, 1]));
    assert.deepEqual(rotateQuarterTurns(rotateQuarterTurns(image, 2, 1), 2, 3), image);
  });

  for (const method of ['rotation', 'supervised']) {
    it(`${method}: trains the encoder (its loss falls on a repeated batch), saves it with the encoder's layer names, same seed same numbers`, async () => {
      const config = pretextConfig({ method, steps: 12, batchSize: 16, lr: 0.003, logEvery: 1, split: 'trainval' });
      const run = async (name: string) => {
        const outDir = join(root, `${method}-${name}`);
        const before = tf.memory().numTensors;
        await trainPretext({ config, model, dataset, seed: 4, outDir });
        assert.equal(tf.memory().numTensors, before);
        const rows = (await readFile(join(outDir, 'log.csv'), 'utf8')).trim().split('\n').slice(1);
        return { outDir, losses: rows.map((r) => Number(r.split(',')[1])) };
      };
      const a = await run('a');
      const b = await run('b');
      assert.deepEqual(a.losses, b.losses);
      assert.equal(a.losses.length, 12);
      // 16 images, batch 16: every step sees all of them, so the loss must come down.
      const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
      assert.ok(mean(a.losses.slice(-3)) < mean(a.losses.slice(0, 3)), `loss did not fall: ${a.losses.join(' ')}`);
      const encoder = await loadModel(join(a.outDir, 'checkpoint'));
      assert.deepEqual(encoder.outputs[0].shape, [null, 2, 2, 32]);
      assert.ok(['conv1', 'conv5', 'pool5'].every((l) => encoder.layers.some((x) => x.name === l)));
      encoder.dispose();
    });
  }

  it('supervised learns its classes from a folder dataset, whose handle knows them only once listed', async () => {
    const folder = join(root, 'folder');
    for (const [cls, colour] of [['dark', 20], ['light', 230]] as const) {
      await mkdir(join(folder, 'train', cls), { recursive: true });
      for (let i = 0; i < 4; i++) {
        await sharp({ create: { width: 32, height: 32, channels: 3, background: { r: colour, g: colour + i, b: colour } } }).png().toFile(join(folder, 'train', cls, `${i}.png`));
      }
    }
    const config = pretextConfig({ method: 'supervised', steps: 2, batchSize: 4, logEvery: 1, split: 'train' });
    const outDir = join(root, 'supervised-folder');
    await trainPretext({ config, model, dataset: { format: 'folder', root: folder }, seed: 1, outDir });
    const rows = (await readFile(join(outDir, 'log.csv'), 'utf8')).trim().split('\n');
    assert.equal(rows.length, 3);
    // Two classes: the first softmax loss is near ln 2, not ln of another count.
    assert.ok(Math.abs(Number(rows[1].split(',')[1]) - Math.log(2)) < 0.5, rows[1]);
  });
});

