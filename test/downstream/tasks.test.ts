import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { decode } from 'fast-png';
import { after, before, describe, it } from 'mocha';
import { trainPretext, runTask } from '../helpers/stages.js';
import { loadImageBank } from '../../src/data/batches.js';
import { openDataset } from '../../src/data/formats/index.js';
import { DATASET_MEAN_RGB } from '../../src/data/image.js';
import { makeMask } from '../../src/data/masks.js';
import { writeSyntheticVoc } from '../../src/data/synthetic.js';
import { loadModel } from '../../src/engine/checkpoint.js';
import { Rng } from '../../src/engine/random.js';
import '../../src/models/custom-layers.js';
import { PROTOCOLS } from '../../src/downstream/index.js';
import { loadTransferEncoder } from '../../src/downstream/transfer.js';
import { TransferOptimizer } from '../../src/downstream/transfer-optimizer.js';
import type { DownstreamJob } from '../../src/downstream/types.js';
import { initBackend } from '../../src/engine/backend.js';
import { downstreamConfig, pretextConfig } from '../helpers/config.js';
import type { DatasetConfig, DownstreamConfig } from '../../src/experiment/types.js';
import type { PretextConfig } from '../../src/experiment/types.js';


/** The random-init pretext entry the fixture trains, and a downstream entry. */
function withDefaults(downstream: Partial<DownstreamConfig> & Pick<DownstreamConfig, 'task'>): { pretext: PretextConfig; downstream: DownstreamConfig } {
  return { pretext: pretextConfig({ method: 'random', heldoutImages: 4 }), downstream: downstreamConfig(downstream) };
}

function mean(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
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

  /**
   * L1, L2 and PSNR over the hole (per image, then averaged) of the generator
   * and of the mean-colour fill, written out independently of the task's code:
   * the hole is filled with DATASET_MEAN_RGB, intensities are (v + 1) / 2 in float64.
   */
  async function referenceInpaintingScores(generatorDir: string, count: number, seed: number): Promise<Record<string, number>> {
    const generator = await loadModel(generatorDir);
    const size = generator.inputs[0].shape[1] as number;
    const samples = (await (await openDataset(dataset)).list('test')).slice(0, count);
    const { images } = await loadImageBank(samples, size);
    const rng = new Rng(seed).fork('inpainting-masks');
    const sums = { l1: 0, l2: 0, psnr: 0, baseline_l1: 0, baseline_l2: 0, baseline_psnr: 0 };
    for (const image of images) {
      const { fill } = makeMask(size, rng, { kind: 'center' });
      const input = Float32Array.from(image);
      fill.forEach((f, p) => {
        if (f === 1) for (let c = 0; c < 3; c++) input[p * 3 + c] = (2 * DATASET_MEAN_RGB[c]) / 255 - 1;
      });
      const pred = tf.tidy(() => (generator.predict(tf.tensor4d(input, [1, size, size, 3])) as tf.Tensor).dataSync());
      let n = 0;
      const acc = { l1: 0, l2: 0, baseline_l1: 0, baseline_l2: 0 };
      fill.forEach((f, p) => {
        if (f !== 1) return;
        for (let c = 0; c < 3; c++) {
          const truth = (image[p * 3 + c] + 1) / 2;
          const ours = Math.min(1, Math.max(0, (pred[p * 3 + c] + 1) / 2)) - truth;
          const meanFill = DATASET_MEAN_RGB[c] / 255 - truth;
          acc.l1 += Math.abs(ours);
          acc.l2 += ours * ours;
          acc.baseline_l1 += Math.abs(meanFill);
          acc.baseline_l2 += meanFill * meanFill;
          n++;
        }
      });
      sums.l1 += acc.l1 / n;
      sums.l2 += acc.l2 / n;
      sums.psnr += 10 * Math.log10(n / acc.l2);
      sums.baseline_l1 += acc.baseline_l1 / n;
      sums.baseline_l2 += acc.baseline_l2 / n;
      sums.baseline_psnr += 10 * Math.log10(n / acc.baseline_l2);
    }
    generator.dispose();
    return Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, v / images.length]));
  }

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
      const opt = new TransferOptimizer(headModel.trainableWeights.map((w) => w.read() as tf.Variable), enc.trainable, { lr: 0.01, encoderLrScale: 1 });
      const x = tf.randomNormal([2, 67, 67, 3], 0, 1, 'float32', 3);
      for (let i = 1; i <= 2; i++) opt.step(() => (headModel.apply((enc.model.apply(x) as tf.Tensor).reshape([2, -1])) as tf.Tensor).square().mean() as tf.Scalar, i);
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
    assert.equal(a.summary.mAP, mean(Object.values(a.perClass!.AP)));
    // Chance AP is about the positive rate (~1/3 here); a trained head must do better.
    assert.ok(a.summary.mAP > 0.45 && a.summary.mAP <= 1, `mAP ${a.summary.mAP}`);
  });

  it('classification with fine-tuning and 10-crop testing trains the encoder too, and leaves no tensors behind', async () => {
    const { downstream } = withDefaults({ task: 'classification', protocols: ['frozen', 'finetune'], steps: 4, batchSize: 8, headWidths: [16, 16], testCrops: 10 });
    const before = tf.memory().numTensors;
    const out = await runTask(job(downstream, 'finetune'));
    assert.equal(tf.memory().numTensors, before);
    assert.equal(out.summary.mAP, mean(Object.values(out.perClass!.AP)));
    // The same entry, seed and steps with the encoder kept fixed scores otherwise: fine-tuning moved the encoder.
    const frozen = await runTask(job(downstream, 'frozen'));
    assert.notDeepEqual(out.perClass, frozen.perClass);
    assert.ok(out.imgPerSec > 0 && frozen.imgPerSec === 0);
  });

  it('segmentation: IoU for background and every class, mean IU their mean, mean IU above predicting background everywhere', async () => {
    const { downstream } = withDefaults({ task: 'segmentation', trainSplit: 'train', testSplit: 'val', layer: 'conv5', steps: 60, batchSize: 8, headWidths: [32], lr: 0.01 });
    const before = tf.memory().numTensors;
    const out = await runTask(job(downstream, 'frozen'));
    assert.equal(tf.memory().numTensors, before);
    assert.deepEqual(Object.keys(out.perClass!.IoU), ['background', ...classes]);
    // Mean IU is the mean of the per-class IoUs over the classes present.
    assert.equal(out.summary.meanIU, mean(Object.values(out.perClass!.IoU).filter((v) => !Number.isNaN(v))));
    // A head that learned nothing predicts background everywhere: background IoU is then the background share
    // of the labelled test pixels, every other class present scores 0. Computed from the label maps themselves.
    let background = 0;
    let labelled = 0;
    const present = new Set<number>();
    for (const sample of await (await openDataset(dataset)).list('val', { with: 'labelMaps' })) {
      for (const v of (await sample.labelMap!()).data) {
        if (v === 255) continue;
        labelled++;
        present.add(v);
        if (v === 0) background++;
      }
    }
    const allBackground = background / labelled / present.size;
    assert.ok(out.summary.meanIU > allBackground, `mean IU ${out.summary.meanIU} vs ${allBackground} when predicting background everywhere`);
  });

  it('inpainting: scores over the hole, the mean-fill baseline, and sample PNGs', async () => {
    const { downstream } = withDefaults({ task: 'inpainting', maxTestImages: 6, samples: 2 });
    const j = job(downstream, null);
    const out = await runTask(j);
    // Recomputed here, in float64, from the generator itself: the test split's first 6 images, the seed's centre holes.
    const expected = await referenceInpaintingScores(join(pretextDir, 'generator'), 6, 5);
    for (const [metric, value] of Object.entries(expected)) assert.ok(Math.abs(out.summary[metric] - value) < 1e-5, `${metric}: ${out.summary[metric]} vs ${value}`);
    assert.equal(out.samples!.length, 6);
    for (const file of out.samples!) {
      const png = decode(await readFile(join(j.outDir, file)));
      assert.equal(png.width, 67);
      assert.equal(png.height, 67);
    }
  });
});
