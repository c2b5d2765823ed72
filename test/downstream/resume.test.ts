/**
 * Downstream training checkpoints: a job resumed from the checkpoint of a run
 * that stopped after it ends with the numbers of a run that never stopped,
 * for every trained task and both protocols (what each protocol adds: the
 * fine-tuned encoder, crop and view streams, detection's RoI, mirror and
 * dropout streams and its head of plain variables), and with SGD: momentum
 * accumulators, and an lr schedule whose boundaries fall on both sides of the
 * resume (with scale-augmented crops for classification).
 */
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, rm, stat, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { after, before, describe, it } from 'mocha';
import { trainPretext, runTask } from '../helpers/stages.js';
import { writeSyntheticVoc } from '../../src/data/synthetic.js';
import type { DownstreamJob } from '../../src/downstream/types.js';
import { initBackend } from '../../src/engine/backend.js';
import { ResumableLoop } from '../../src/engine/resumable-loop.js';
import { Rng } from '../../src/engine/random.js';
import { UserError } from '../../src/errors.js';
import type { DatasetConfig, DownstreamConfig } from '../../src/experiment/types.js';
import { checkpointContents, checkpointStep } from '../helpers/checkpoint.js';
import { downstreamConfig, pretextConfig } from '../helpers/config.js';

const STEPS = 7;
const EVERY = 3;

/** Small enough that three runs of each case stay within seconds. */
/** lr halves every 2 steps: steps 3-4 (resumed at 4) at lr / 2, 5-6 at lr / 4, 7 at lr / 8. */
const SGD: Partial<DownstreamConfig> = { optimizer: 'sgd', momentum: 0.9, weightDecay: 1e-4, clipGradNorm: 5, lrStepEvery: 2, lrGamma: 0.5 };

const CASES: { task: 'classification' | 'segmentation' | 'detection'; protocol: string; label?: string; config: Partial<DownstreamConfig> }[] = [
  { task: 'classification', protocol: 'frozen', config: { batchSize: 4, headWidths: [16, 16], maxTestImages: 6 } },
  { task: 'classification', protocol: 'finetune', config: { batchSize: 4, headWidths: [16, 16], maxTestImages: 6 } },
  { task: 'segmentation', protocol: 'frozen', config: { trainSplit: 'train', testSplit: 'val', layer: 'conv5', batchSize: 4, headWidths: [16], maxTrainImages: 8, maxTestImages: 4 } },
  { task: 'segmentation', protocol: 'finetune', config: { trainSplit: 'train', testSplit: 'val', layer: 'conv5', batchSize: 4, headWidths: [16], maxTrainImages: 8, maxTestImages: 4 } },
  { task: 'detection', protocol: 'frozen', config: { roisPerImage: 16, headWidths: [16, 16], maxTrainImages: 8, maxTestImages: 3 } },
  { task: 'detection', protocol: 'finetune', config: { roisPerImage: 16, headWidths: [16, 16], maxTrainImages: 8, maxTestImages: 3 } },
  { task: 'classification', protocol: 'finetune', label: 'sgd', config: { batchSize: 4, headWidths: [16, 16], maxTestImages: 6, ...SGD, protocols: ['finetune'], scaleAugment: [0.5, 2] } },
  { task: 'detection', protocol: 'finetune', label: 'sgd', config: { roisPerImage: 16, headWidths: [16, 16], maxTrainImages: 8, maxTestImages: 3, ...SGD } },
];

describe('downstream training checkpoints (wasm)', function () {
  let root: string;
  let dataset: DatasetConfig;
  let pretextDir: string;

  before(async () => {
    await initBackend('wasm');
    root = await mkdtemp(join(tmpdir(), 'ceb-ds-resume-'));
    dataset = { format: 'voc', root: join(root, 'voc') };
    await writeSyntheticVoc({ out: dataset.root, images: 24, size: 64, seed: 4, classes: 3 });
    pretextDir = join(root, 'pretext');
    await trainPretext({ config: pretextConfig({ method: 'random', heldoutImages: 2 }), model: { inputSize: 67, widthMultiplier: 0.125 }, dataset, seed: 2, outDir: pretextDir });
  });
  after(() => rm(root, { recursive: true, force: true }));

  function job(config: DownstreamConfig, protocol: string, name: string, resume?: { file: string; key: string }): Parameters<typeof runTask>[0] {
    return { config, protocol, dataset, seed: 6, method: 'random', encoderDir: join(pretextDir, 'checkpoint'), generatorDir: join(pretextDir, 'generator'), outDir: join(root, name), resume };
  }

  for (const c of CASES) {
    it(`${c.task}/${c.protocol}${c.label ? ` (${c.label})` : ''}: resumed from step ${EVERY}, it checkpoints step ${2 * EVERY} and ends as a run that never stopped`, async () => {
      const config = downstreamConfig({ task: c.task, steps: STEPS, checkpointEvery: EVERY, lr: 0.003, ...c.config });
      const name = `${c.task}-${c.protocol}${c.label ? `-${c.label}` : ''}`;
      const run = runTask;
      // Uninterrupted, leaving its step-6 checkpoint (the runner deletes it only once the job is in place).
      const straightFile = join(root, `${name}-straight.partial`, 'state.bin');
      const straight = await run(job(config, c.protocol, `${name}-straight`, { file: straightFile, key: name }));
      // A run that stops after step 4 (as a kill would) has written its step-3 checkpoint; a fresh run takes it over.
      const file = join(root, `${name}.partial`, 'state.bin');
      await run(job({ ...config, steps: EVERY + 1 }, c.protocol, `${name}-stopped`, { file, key: name }));
      assert.equal(await checkpointStep(file), EVERY);
      const before = tf.memory().numTensors;
      const resumed = await run(job(config, c.protocol, `${name}-resumed`, { file, key: name }));
      assert.equal(tf.memory().numTensors, before, 'restoring a checkpoint leaks no tensors');

      assert.deepEqual(resumed.summary, straight.summary);
      assert.deepEqual(resumed.perClass, straight.perClass);
      // Weights, optimiser state (Adam's moments and powers, or momentum accumulators) and every stream after step 6 are the same bytes as without the stop.
      assert.equal(await checkpointStep(file), 2 * EVERY);
      const [a, b] = await Promise.all([checkpointContents(straightFile), checkpointContents(file)]);
      assert.deepEqual(b.extra, a.extra);
      assert.deepEqual(b.shapes, a.shapes);
      const kinds = new Set(Object.keys(a.shapes).filter((g) => g.startsWith('adam:') || g.startsWith('momentum:')).map((g) => g.split(':')[0]));
      assert.deepEqual([...kinds], [c.config.optimizer === 'sgd' ? 'momentum' : 'adam'], 'the checkpoint holds the optimiser the entry asked for');
      assert.ok(b.tensors.equals(a.tensors), 'checkpointed tensors differ');
    });
  }

  it("refuses another job's checkpoint, one of another network, and a truncated one, leaving the file as it was", async () => {
    const config = downstreamConfig({ task: 'classification', steps: 4, checkpointEvery: 2, batchSize: 4, headWidths: [16, 16], maxTestImages: 4 });
    const file = join(root, 'refuse.partial', 'state.bin');
    await runTask(job(config, 'frozen', 'refuse-0', { file, key: 'k' }));

    await assert.rejects(runTask(job(config, 'frozen', 'refuse-1', { file, key: 'other' })), (err: Error) =>
      err instanceof UserError && err.message === `${file}: training checkpoint of job k, not of this job (other); delete it to restart this job from step 0`,
    );
    await assert.rejects(runTask(job({ ...config, headWidths: [8, 16] }, 'frozen', 'refuse-2', { file, key: 'k' })), (err: Error) =>
      err instanceof UserError && err.message.startsWith(`${file}: training checkpoint is for a different network (head weight head_fc6/kernel: shape [`) && !err.message.includes('\n'),
    );
    // Fine-tuning draws crops (and restores the encoder), which a frozen job's checkpoint lacks.
    await assert.rejects(runTask(job(config, 'finetune', 'refuse-3', { file, key: 'k' })), (err: Error) =>
      err instanceof UserError && err.message === `${file}: training checkpoint is for a different training loop (it has no crops state); delete it to restart this job from step 0`,
    );
    const other = join(root, 'refuse-seg.partial', 'state.bin');
    await mkdir(join(root, 'refuse-seg.partial'));
    await copyFile(file, other);
    const seg = downstreamConfig({ task: 'segmentation', steps: 4, checkpointEvery: 2, trainSplit: 'train', testSplit: 'val', layer: 'conv5', headWidths: [16], maxTrainImages: 4, maxTestImages: 2 });
    await assert.rejects(runTask(job(seg, 'frozen', 'refuse-4', { file: other, key: 'k' })), (err: Error) =>
      err instanceof UserError && err.message.startsWith(`${other}: training checkpoint is for a different network (head: `),
    );

    const size = (await stat(file)).size;
    await truncate(file, size - 10);
    await assert.rejects(runTask(job(config, 'frozen', 'refuse-5', { file, key: 'k' })), (err: Error) =>
      err instanceof UserError && err.message === `${file}: training checkpoint is damaged (truncated: ${size - 10} bytes, expected ${size}); delete it to restart this job from step 0`,
    );
    assert.equal((await stat(file)).size, size - 10);
  });

  it('a non-finite loss stops the loop with its step and the last good checkpoint', async () => {
    const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [1] })] });
    const optimizer = tf.train.adam(0.1);
    const file = join(root, 'nan.partial', 'state.bin');
    const { loop } = await ResumableLoop.start({
      label: 'classification/frozen on random',
      resume: { file, key: 'k' },
      checkpointEvery: 2,
      steps: 10,
      lr: 0.1,
      imagesPerStep: 1,
      parts: { models: { head: model }, optimizers: { head: optimizer } },
      streams: { order: new Rng(1) },
    });
    for (let step = 1; step <= 3; step++) await loop.endStep(step, 0.5);
    await assert.rejects(loop.endStep(4, NaN), (err: Error) =>
      err instanceof UserError && err.message === `classification/frozen on random: loss became NaN at step 4; the last good checkpoint (step 2) stays in ${file}; lower lr (0.1) and rerun`,
    );
    assert.equal(await checkpointStep(file), 2);
    model.dispose();
    optimizer.dispose();
  });
});
