import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { after, before, describe, it } from 'mocha';
import { trainPretext } from '../helpers/stages.js';
import { initBackend } from '../../src/engine/backend.js';
import { writeSyntheticVoc } from '../../src/data/synthetic.js';
import { UserError } from '../../src/errors.js';
import type { DatasetConfig, ModelConfig, PretextConfig } from '../../src/experiment/types.js';
import type { PretextJob } from '../../src/pretext/index.js';
import { checkpointStep } from '../helpers/checkpoint.js';
import { pretextConfig } from '../helpers/config.js';


const IN_MEMORY_FINAL_LOSS = { rotation: 1.326606035232544, supervised: 0.960544228553772 };

describe('pretext training checkpoints (wasm)', function () {
  let root: string;
  let dataset: DatasetConfig;
  const model: ModelConfig = { inputSize: 67, widthMultiplier: 0.125 };

  before(async () => {
    await initBackend('wasm');
    root = await mkdtemp(join(tmpdir(), 'ceb-resume-'));
    dataset = { format: 'voc', root: join(root, 'voc') };
    await writeSyntheticVoc({ out: dataset.root, images: 24, size: 64, seed: 3, classes: 3 });
  });
  after(() => rm(root, { recursive: true, force: true }));

  function job(config: PretextConfig, name: string, resumeFile?: string, m: ModelConfig = model): PretextJob {
    return { config, model: m, dataset, seed: 5, outDir: join(root, name), resume: resumeFile ? { file: resumeFile, key: 'k' } : undefined };
  }

  const losses = async (name: string): Promise<string[]> =>
    (await readFile(join(root, name, 'log.csv'), 'utf8')).trim().split('\n').map((l) => l.split(',').slice(0, 5).join(','));

  it('a run resumed from a checkpoint (adversarial: both networks and both optimizers) ends bit-identical to one that never stopped', async () => {
    const config = pretextConfig({ steps: 3, batchSize: 2, heldoutImages: 2, logEvery: 1, adversarial: true, lambdaRec: 0.9, checkpointEvery: 2 });
    const straight = await trainPretext(job(config, 'straight'));
    const file = join(root, 'adv.partial', 'state.bin');
    // The first run leaves its step-2 checkpoint behind (the runner deletes it only once the job folder is in place).
    await trainPretext(job(config, 'first', file));
    assert.equal(await checkpointStep(file), 2);
    const before = tf.memory().numTensors;
    const resumed = await trainPretext(job(config, 'resumed', file));
    assert.equal(tf.memory().numTensors, before, 'restoring a checkpoint leaks no tensors');
    assert.equal(resumed.summary.final_loss, straight.summary.final_loss);
    assert.equal(resumed.summary.heldout_masked_l2, straight.summary.heldout_masked_l2);
    assert.deepEqual(await losses('resumed'), await losses('straight'));
    const [a, b] = await Promise.all(['straight', 'resumed'].map((n) => readFile(join(root, n, 'generator', 'weights.bin'))));
    assert.ok(a.equals(b), 'generator weights differ');
  });

  it('dcgan generator: a run resumed from a checkpoint (BatchNorm statistics, LeanAdam moments of G and D) ends bit-identical to one that never stopped', async () => {
    const dcgan: ModelConfig = { generator: 'dcgan', inputSize: 32, bottleneck: 8 };
    const config = pretextConfig({ mask: 'center', steps: 3, batchSize: 2, heldoutImages: 2, logEvery: 1, adversarial: true, checkpointEvery: 2 });
    const straight = await trainPretext(job(config, 'dcgan-straight', undefined, dcgan));
    const file = join(root, 'dcgan.partial', 'state.bin');
    await trainPretext(job(config, 'dcgan-first', file, dcgan));
    assert.equal(await checkpointStep(file), 2);
    const before = tf.memory().numTensors;
    const resumed = await trainPretext(job(config, 'dcgan-resumed', file, dcgan));
    assert.equal(tf.memory().numTensors, before, 'restoring a checkpoint leaks no tensors');
    assert.equal(resumed.summary.final_loss, straight.summary.final_loss);
    assert.deepEqual(await losses('dcgan-resumed'), await losses('dcgan-straight'));
    const [a, b] = await Promise.all(['dcgan-straight', 'dcgan-resumed'].map((n) => readFile(join(root, n, 'generator', 'weights.bin'))));
    assert.ok(a.equals(b), 'generator weights differ');
  });

  for (const method of ['rotation', 'supervised'] as const) {
    it(`${method}: a run resumed from its checkpoint (order, crops streamed by the loader, and task streams) ends bit-identical to one that never stopped`, async () => {
      const config = pretextConfig({ method, steps: 5, batchSize: 4, logEvery: 1, checkpointEvery: 2 });
      const straight = await trainPretext(job(config, `${method}-straight`));
      const file = join(root, `${method}.partial`, 'state.bin');
      await trainPretext(job(config, `${method}-first`, file));
      assert.equal(await checkpointStep(file), 4);
      const resumed = await trainPretext(job(config, `${method}-resumed`, file));
      assert.equal(resumed.summary.final_loss, straight.summary.final_loss);
      // step and loss; elapsed_s is wall time.
      const stepLoss = async (name: string) => (await losses(name)).map((l) => l.split(',').slice(0, 2).join(','));
      assert.deepEqual(await stepLoss(`${method}-resumed`), await stepLoss(`${method}-straight`));
      const [a, b] = await Promise.all([`${method}-straight`, `${method}-resumed`].map((n) => readFile(join(root, n, 'checkpoint', 'weights.bin'))));
      assert.ok(a.equals(b), 'encoder weights differ');
      // Recorded with the in-memory image bank this loader replaced (commit 3764f81): the loader draws the same order and crops.
      assert.equal(straight.summary.final_loss, IN_MEMORY_FINAL_LOSS[method]);
    });
  }

  it('refuses a truncated checkpoint, one of another network, and one of another job, leaving the file as it was', async () => {
    const config = pretextConfig({ steps: 3, batchSize: 2, heldoutImages: 2, checkpointEvery: 2 });
    const file = join(root, 'cut.partial', 'state.bin');
    await trainPretext(job(config, 'cut-0', file));

    const wide = join(root, 'wide.partial', 'state.bin');
    await trainPretext(job(config, 'wide-0', wide, { inputSize: 67, widthMultiplier: 0.25 }));
    await assert.rejects(trainPretext(job(config, 'wide-1', wide)), (err: Error) =>
      err instanceof UserError && err.message.startsWith(`${wide}: training checkpoint is for a different network (generator weight conv1/kernel: shape [11,11,3,24] saved, the network has [11,11,3,12])`),
    );

    await assert.rejects(trainPretext({ ...job(config, 'other-key', file), resume: { file, key: 'other' } }), (err: Error) =>
      err instanceof UserError && err.message.startsWith(`${file}: training checkpoint of job k, not of this job (other)`),
    );

    const size = (await stat(file)).size;
    await truncate(file, size - 100);
    await assert.rejects(trainPretext(job(config, 'cut-1', file)), (err: Error) =>
      err instanceof UserError && err.message.startsWith(`${file}: training checkpoint is damaged (truncated: ${size - 100} bytes, expected ${size}); delete it to restart this job from step 0`),
    );
    assert.equal((await stat(file)).size, size - 100);
  });
});
