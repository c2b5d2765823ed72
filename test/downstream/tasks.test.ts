import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { decode } from 'fast-png';
import { after, before, describe, it } from 'mocha';
import { trainPretext, runTask } from '../helpers/stages.js';
import { writeSyntheticVoc } from '../../src/data/synthetic.js';
import { PROTOCOLS } from '../../src/downstream/index.js';
import { loadTransferEncoder, TransferOptimizer } from '../../src/downstream/transfer.js';
import type { DownstreamJob } from '../../src/downstream/types.js';
import { initBackend } from '../../src/engine/backend.js';
import { downstreamConfig, pretextConfig } from '../helpers/config.js';
import type { DatasetConfig, DownstreamConfig } from '../../src/experiment/types.js';
import type { PretextConfig } from '../../src/experiment/types.js';


/** The random-init pretext entry the fixture trains, and a downstream entry. */
function withDefaults(downstream: Partial<DownstreamConfig> & Pick<DownstreamConfig, 'task'>): { pretext: PretextConfig; downstream: DownstreamConfig } {
  return { pretext: pretextConfig({ method: 'random', heldoutImages: 4 }), downstream: downstreamConfig(downstream) };
}

describe('downstream tasks on synthetic VOC (wasm)', function () {
  let root: string;
  let dataset: DatasetConfig;
  let pretextDir: string;
  const classes = ['aeroplane', 'bicycle', 'bird'];

  before(async () => {
    await initBackend('wasm');
    root = await mkdtemp(join(tmpdir(), 'ceb-tasks-'));
    dataset = { format: 'voc', root: join(root, 'voc') };
    await writeSyntheticVoc({ out: dataset.root, images: 40, size: 80, seed: 11, classes: 3 });
    pretextDir = join(root, 'pretext');
    const { pretext } = withDefaults({ task: 'classification' });
    await trainPretext({ config: pretext, model: { inputSize: 67, widthMultiplier: 0.125 }, dataset, seed: 2, outDir: pretextDir });
  });

  after(() => rm(root, { recursive: true, force: true }));

  function job(config: DownstreamConfig, protocol: string | null, seed = 5): Parameters<typeof runTask>[0] {
    return {
      config,
      protocol,
      dataset,
      seed,
      method: 'random',
      encoderDir: join(pretextDir, 'checkpoint'),
      generatorDir: join(pretextDir, 'generator'),
      outDir: join(root, `out-${config.task}-${protocol}-${seed}`),
    };
  }

  it('frozen leaves the encoder as it was; finetune moves only the layers from finetuneFrom up', async () => {
    const { downstream } = withDefaults({ task: 'classification', protocols: ['frozen', 'finetune'], finetuneFrom: 'conv3' });
    const snapshot = (m: tf.LayersModel) => Object.fromEntries(m.layers.filter((l) => l.weights.length > 0).map((l) => [l.name, l.getWeights()[0].dataSync().slice()]));
    for (const protocol of ['frozen', 'finetune'] as const) {
      const enc = await loadTransferEncoder({ ...job(downstream, protocol), layer: 'pool5' }, PROTOCOLS.get(protocol), 'pool5');
      const before = snapshot(enc.model);
      const head = tf.layers.dense({ units: 1, inputShape: [enc.featureShape.reduce((a, b) => a * b, 1)] });
      const headModel = tf.sequential({ layers: [head] });
      const opt = new TransferOptimizer(headModel.trainableWeights.map((w) => w.read() as tf.Variable), enc.trainable, 0.01, 1);
      const x = tf.randomNormal([2, 67, 67, 3], 0, 1, 'float32', 3);
      for (let i = 0; i < 2; i++) opt.step(() => (headModel.apply((enc.model.apply(x) as tf.Tensor).reshape([2, -1])) as tf.Tensor).square().mean() as tf.Scalar);
      const after = snapshot(enc.model);
      const changed = Object.keys(before).filter((k) => before[k].some((v, i) => v !== after[k][i]));
      assert.deepEqual(changed, protocol === 'frozen' ? [] : ['conv3', 'conv4', 'conv5'], protocol);
      opt.dispose();
      x.dispose();
      enc.model.dispose();
      headModel.dispose();
    }
  });

  it('classification: an AP per class, a mAP above chance, and the same numbers for the same seed', async () => {
    const { downstream } = withDefaults({ task: 'classification', steps: 60, batchSize: 16, headWidths: [32, 32], lr: 0.003 });
    const a = await runTask(job(downstream, 'frozen'));
    const b = await runTask(job(downstream, 'frozen'));
    assert.deepEqual(Object.keys(a.perClass!.AP), classes);
    assert.deepEqual(a.summary, b.summary);
    // Chance AP is about the positive rate (~1/3 here); a trained head must do better.
    assert.ok(a.summary.mAP > 0.45 && a.summary.mAP <= 1, `mAP ${a.summary.mAP}`);
  });

  it('classification with fine-tuning and 10-crop testing runs and leaves no tensors behind', async () => {
    const { downstream } = withDefaults({ task: 'classification', steps: 4, batchSize: 8, headWidths: [16, 16], testCrops: 10 });
    const before = tf.memory().numTensors;
    const out = await runTask(job(downstream, 'finetune'));
    assert.equal(tf.memory().numTensors, before);
    assert.ok(out.summary.mAP > 0 && out.summary.mAP <= 1);
    assert.ok(out.imgPerSec > 0);
  });

  it('segmentation: IoU for background and every class, mean IU and pixel accuracy in [0, 1]', async () => {
    const { downstream } = withDefaults({ task: 'segmentation', trainSplit: 'train', testSplit: 'val', layer: 'conv5', steps: 20, batchSize: 4, headWidths: [16] });
    const before = tf.memory().numTensors;
    const out = await runTask(job(downstream, 'frozen'));
    assert.equal(tf.memory().numTensors, before);
    assert.deepEqual(Object.keys(out.perClass!.IoU), ['background', ...classes]);
    assert.ok(out.summary.meanIU >= 0 && out.summary.meanIU <= 1);
    // Background dominates the synthetic images: even a weak head gets most pixels right.
    assert.ok(out.summary.pixelAcc > 0.5 && out.summary.pixelAcc <= 1, `pixelAcc ${out.summary.pixelAcc}`);
  });

  it('inpainting: scores over the hole, the mean-fill baseline, and sample PNGs', async () => {
    const { downstream } = withDefaults({ task: 'inpainting', maxTestImages: 6, samples: 2 });
    const j = job(downstream, null);
    const out = await runTask(j);
    const { l1, l2, psnr, baseline_l1, baseline_l2, baseline_psnr } = out.summary;
    for (const v of [l1, l2, baseline_l1, baseline_l2]) assert.ok(v > 0 && v < 1);
    // Mean squared error never falls below the squared mean absolute error (Jensen), per image and so on average.
    assert.ok(l2 >= l1 * l1 - 1e-9 && baseline_l2 >= baseline_l1 * baseline_l1 - 1e-9);
    // PSNR is averaged per image, so it is at least 10 log10(1 / mean L2) (Jensen again: -log is convex).
    assert.ok(psnr >= 10 * Math.log10(1 / l2) - 1e-9 && baseline_psnr >= 10 * Math.log10(1 / baseline_l2) - 1e-9);
    assert.equal(out.samples!.length, 6);
    for (const file of out.samples!) {
      const png = decode(await readFile(join(j.outDir, file)));
      assert.equal(png.width, 67);
      assert.equal(png.height, 67);
    }
  });
});
