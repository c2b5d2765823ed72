/**
 * Segmentation and detection read their images (and label maps) from disk
 * per batch instead of holding the training set (issue 10): the dataset's
 * reads grow with the steps trained, by one batch per step, while the
 * numbers stay those of the in-memory path and no cache file is left behind.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { after, before, describe, it } from 'mocha';
import { openDataset } from '../../src/data/formats/index.js';
import type { DatasetHandle, SampleRef } from '../../src/data/formats/types.js';
import { TRAINING_PREFETCH } from '../../src/data/loader.js';
import { writeSyntheticVoc } from '../../src/data/synthetic.js';
import { initBackend } from '../../src/engine/backend.js';
import { DOWNSTREAM_TASKS, PROTOCOLS, type DownstreamOutcome } from '../../src/downstream/index.js';
import { FEATURE_STORE_FILE } from '../../src/downstream/feature-store.js';
import type { DatasetConfig, DownstreamConfig } from '../../src/experiment/types.js';
import { downstreamConfig, pretextConfig } from '../helpers/config.js';
import { trainPretext } from '../helpers/stages.js';

/** The dataset with every image and label-map read counted. */
function counted(dataset: DatasetHandle): { dataset: DatasetHandle; reads: { images: number; labelMaps: number } } {
  const reads = { images: 0, labelMaps: 0 };
  const wrap = (s: SampleRef): SampleRef => ({
    ...s,
    image: () => {
      reads.images++;
      return s.image();
    },
    ...(s.labelMap
      ? {
          labelMap: () => {
            reads.labelMaps++;
            return s.labelMap!();
          },
        }
      : {}),
  });
  return { dataset: { ...dataset, list: async (split, opts) => (await dataset.list(split, opts)).map(wrap) }, reads };
}

describe('segmentation and detection stream from disk (wasm)', function () {
  let root: string;
  let datasetConfig: DatasetConfig;
  let pretextDir: string;

  before(async () => {
    await initBackend('wasm');
    root = await mkdtemp(join(tmpdir(), 'ceb-stream-'));
    datasetConfig = { format: 'voc', root: join(root, 'voc') };
    // Non-square, so letterboxing and stretching are both exercised.
    await writeSyntheticVoc({ out: datasetConfig.root, images: 60, minSide: 60, maxSide: 90, seed: 5, classes: 3 });
    pretextDir = join(root, 'pretext');
    await trainPretext({ config: pretextConfig({ method: 'random', heldoutImages: 2 }), model: { inputSize: 67, widthMultiplier: 0.125 }, dataset: datasetConfig, seed: 2, outDir: pretextDir });
  });
  after(() => rm(root, { recursive: true, force: true }));

  async function run(config: DownstreamConfig, protocol: string, name: string): Promise<{ out: DownstreamOutcome; reads: { images: number; labelMaps: number }; left: string[] }> {
    const { dataset, reads } = counted(await openDataset(datasetConfig));
    const outDir = join(root, name);
    const tensors = tf.memory().numTensors;
    const out = await DOWNSTREAM_TASKS.get(config.task).run(
      { config, protocol, dataset: datasetConfig, seed: 4, method: 'random', layer: 'conv5', encoderDir: join(pretextDir, 'checkpoint'), generatorDir: join(pretextDir, 'generator'), outDir },
      { dataset, protocol: PROTOCOLS.get(protocol) },
    );
    assert.equal(tf.memory().numTensors, tensors, 'tensors left behind');
    return { out, reads, left: existsSync(outDir) ? await readdir(outDir) : [] };
  }

  const seg = (steps: number) =>
    downstreamConfig({ task: 'segmentation', trainSplit: 'train', testSplit: 'val', layer: 'conv5', steps, batchSize: 4, lr: 0.05, headWidths: [16], maxTrainImages: 10, maxTestImages: 6, rescale: true });
  const det = (steps: number) => downstreamConfig({ task: 'detection', steps, batchSize: 2, lr: 0.01, roisPerImage: 16, headWidths: [16, 16], maxTrainImages: 10, maxTestImages: 6, rescale: true });

  /** Steps of the run whose reads and numbers are checked (against one of 4 steps). */
  const LONG = 30;

  /**
   * Metrics of the in-memory path (the code before this change, commit
   * d9dcf63, the same fixture and configs at LONG steps): streaming must score
   * exactly the same.
   */
  const BEFORE: Record<string, Record<string, number>> = {
    'segmentation/frozen': { meanIU: 0.21925749531542785, pixelAcc: 0.8770299812617114, background: 0.8770299812617114, aeroplane: 0, bicycle: 0, bird: 0 },
    'segmentation/finetune': { meanIU: 0.2217299083905892, pixelAcc: 0.8869196335623568, background: 0.8869196335623568, aeroplane: 0, bicycle: 0, bird: 0 },
    'detection/frozen': { mAP: 0.0005753739930955121, aeroplane: 0.0017261219792865361, bicycle: 0, bird: 0 },
    'detection/finetune': { mAP: 0.001976284584980237, aeroplane: 0.005928853754940711, bicycle: 0, bird: 0 },
  };

  /** Dataset reads per training batch (batches of 4 segmentation or 2 detection images): what each step reads, and nothing else grows with the steps. */
  const PER_BATCH: Record<string, { images: number; labelMaps: number }> = {
    'segmentation/frozen': { images: 0, labelMaps: 4 },
    // Each image's bytes are read once per batch (its header for the box and its pixels come from them; the decode may come from the decoded-image cache).
    'segmentation/finetune': { images: 4, labelMaps: 4 },
    // Frozen detection trains on conv5 rows of the job folder's store, so a step reads no image.
    'detection/frozen': { images: 0, labelMaps: 0 },
    'detection/finetune': { images: 2, labelMaps: 0 },
  };

  for (const key of Object.keys(BEFORE)) {
    const [task, protocol] = key.split('/');
    it(`${key}: reads its images per batch (${TRAINING_PREFETCH} batches ahead at most), scores as the in-memory path did, leaves no cache file`, async () => {
      const config = task === 'segmentation' ? seg : det;
      const short = await run(config(4), protocol, `${task}-${protocol}-4`);
      const long = await run(config(LONG), protocol, `${task}-${protocol}-${LONG}`);
      // The in-memory path read every image once whatever the steps; streaming reads each step's batch, and the prefetched ones, again.
      const per = PER_BATCH[key];
      assert.deepEqual(
        { images: long.reads.images - short.reads.images, labelMaps: long.reads.labelMaps - short.reads.labelMaps },
        { images: (LONG - 4) * per.images, labelMaps: (LONG - 4) * per.labelMaps },
      );
      assert.deepEqual({ ...long.out.summary, ...Object.values(long.out.perClass ?? {})[0] }, BEFORE[key]);
      assert.deepEqual(long.out.skippedSamples, []);
      assert.equal(long.left.includes(FEATURE_STORE_FILE), false, `left in the job folder: ${long.left.join(', ')}`);
    });
  }
});
