import assert from 'node:assert/strict';
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { before, describe, it } from 'mocha';
import { trainPretext } from '../helpers/stages.js';
import { initBackend } from '../../src/engine/backend.js';
import { loadModel } from '../../src/engine/checkpoint.js';
import { writeSyntheticVoc } from '../../src/data/synthetic.js';
import { pretextConfig } from '../helpers/config.js';
import type { DatasetConfig, ModelConfig, PretextConfig } from '../../src/experiment/types.js';
import type { PretextJob } from '../../src/pretext/index.js';

describe('pretext methods (wasm)', function () {
  let root: string;
  let dataset: DatasetConfig;
  const model: ModelConfig = { inputSize: 67, widthMultiplier: 0.125 };

  before(async () => {
    await initBackend('wasm');
    root = await mkdtemp(join(tmpdir(), 'ceb-pretext-'));
    dataset = { format: 'voc', root: join(root, 'voc') };
    await writeSyntheticVoc({ out: dataset.root, images: 24, size: 72, seed: 3, classes: 3 });
  });

  function job(config: PretextConfig, name: string, seed = 5): PretextJob {
    return { config, model, dataset, seed, outDir: join(root, name) };
  }

  async function lossColumn(dir: string): Promise<string[]> {
    const lines = (await readFile(join(dir, 'log.csv'), 'utf8')).trim().split('\n');
    assert.equal(lines[0], 'step,loss,loss_rec,loss_adv,loss_d,img_per_s,elapsed_s');
    return lines.slice(1).map((l) => l.split(',').slice(0, 5).join(','));
  }

  it('gives the same loss curve for the same seed, another for another seed', async () => {
    const config = pretextConfig({ steps: 4, batchSize: 4, logEvery: 1, heldoutImages: 4 });
    await trainPretext(job(config, 'a'));
    await trainPretext(job(config, 'b'));
    await trainPretext(job(config, 'c', 6));
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((n) => lossColumn(join(root, n))));
    assert.equal(a.length, 4);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
  });

  it('leaks no tensors across training steps', async () => {
    const counts: number[] = [];
    for (const steps of [1, 5]) {
      const before = tf.memory().numTensors;
      await trainPretext(job(pretextConfig({ steps, batchSize: 2, heldoutImages: 2, adversarial: true }), `leak-${steps}`));
      counts.push(tf.memory().numTensors - before);
    }
    assert.deepEqual(counts, [0, 0], `tensors left behind after 1 and 5 steps: ${counts}`);
  });

  it('trains the joint adversarial loss and logs its terms', async () => {
    const out = await trainPretext(job(pretextConfig({ steps: 2, batchSize: 2, logEvery: 1, heldoutImages: 2, adversarial: true }), 'adv'));
    const rows = await lossColumn(join(root, 'adv'));
    for (const row of rows) {
      const [, loss, rec, adv, d] = row.split(',').map(Number);
      assert.ok(adv > 0 && d > 0, row);
      assert.ok(Math.abs(loss - (0.999 * rec + 0.001 * adv)) < 1e-5, row);
    }
    assert.ok(out.summary.heldout_masked_l2 > 0);
  });

  it('writes a reloadable encoder and generator for every method', async () => {
    for (const method of ['context-encoder', 'autoencoder', 'random'] as const) {
      const dir = join(root, `out-${method}`);
      const out = await trainPretext({ ...job(pretextConfig({ method, steps: 2, batchSize: 2, heldoutImages: 2 }), `out-${method}`) });
      assert.ok(Number.isFinite(out.summary.heldout_masked_l2));
      for (const sub of ['checkpoint', 'generator']) {
        assert.ok((await stat(join(dir, sub, 'weights.bin'))).size > 0);
        const m = await loadModel(join(dir, sub));
        assert.deepEqual(m.inputs[0].shape, [null, 67, 67, 3]);
        m.dispose();
      }
    }
  });
});
