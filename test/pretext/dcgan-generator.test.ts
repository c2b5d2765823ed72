/**
 * `model.generator: "dcgan"` (Table 1's network) from the experiment file to
 * the inpainting scores: a tiny run on images this test draws, at 32 px, and
 * the load-time refusals of what that generator cannot do.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { decode } from 'fast-png';
import { after, before, describe, it } from 'mocha';
import sharp from 'sharp';
import { initBackend } from '../../src/engine/backend.js';
import { loadModel } from '../../src/engine/checkpoint.js';
import { UserError } from '../../src/errors.js';
import { loadExperiment } from '../../src/experiment/load.js';
import { runExperiment } from '../../src/experiment/run.js';
import type { JobMetrics } from '../../src/results/format.js';

const SIZE = 32;
const repo = resolve('.');

/** Non-square images with smooth colour ramps and a bright block: something a centre hole can be filled from. */
async function drawImages(dir: string, count: number, seed: number): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (let i = 0; i < count; i++) {
    const [w, h] = [44 + (i % 3) * 4, 40];
    const data = Buffer.alloc(w * h * 3);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const p = (y * w + x) * 3;
        const block = Math.abs(x - w / 2 - (i % 5)) < 6 && Math.abs(y - h / 2) < 6;
        data[p] = block ? 240 : (x * 5 + seed * 17 + i * 13) % 256;
        data[p + 1] = block ? 200 : (y * 6 + i * 29) % 256;
        data[p + 2] = ((x + y) * 3 + i * 7) % 256;
      }
    }
    await sharp(data, { raw: { width: w, height: h, channels: 3 } }).png().toFile(join(dir, `${String(i).padStart(3, '0')}.png`));
  }
}

/** A Paris-StreetView-shaped experiment (folder dataset, train/ and heldout/) at 32 px with a small bottleneck. */
function experiment(data: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const split = { split: 'train', heldoutSplit: 'heldout', heldoutImages: 4 };
  return {
    name: 'dcgan-tiny',
    seeds: [3],
    datasets: { paris: { format: 'folder', root: data } },
    model: { generator: 'dcgan', inputSize: SIZE, bottleneck: 16 },
    pretext: [
      { method: 'context-encoder', mask: 'center', ...split, steps: 3, batchSize: 4, loadScale: 1.25, adversarial: true, logEvery: 1 },
      { method: 'autoencoder', ...split, steps: 2, batchSize: 4, logEvery: 1 },
      { method: 'random', ...split },
    ],
    downstream: [{ task: 'inpainting', images: join(data, 'heldout'), samples: 2 }],
    ...extra,
  };
}

describe('the dcgan generator (Table 1) from experiment to inpainting scores (wasm)', function () {
  let root: string;
  let data: string;
  /** The context encoder's job folder, once the first test has trained it. */
  let trained: string;

  before(async () => {
    await initBackend('wasm');
    root = await mkdtemp(join(tmpdir(), 'ceb-dcgan-'));
    data = join(root, 'paris');
    await drawImages(join(data, 'train'), 12, 1);
    await drawImages(join(data, 'heldout'), 4, 2);
  });
  after(() => rm(root, { recursive: true, force: true }));

  it('trains the context encoder (adversarial), the autoencoder and the random baseline, and scores each generator on held-out centre holes', async () => {
    const file = join(root, 'exp.json');
    await writeFile(file, JSON.stringify(experiment(data)));
    const results = join(root, 'results');
    await runExperiment(file, { backend: 'wasm', resultsRoot: results });
    const dir = join(results, 'dcgan-tiny');
    const metrics = async (stage: string): Promise<Map<string, { job: string; m: JobMetrics }>> => {
      const jobs = await readdir(join(dir, stage));
      const read = await Promise.all(jobs.map(async (job) => ({ job, m: JSON.parse(await readFile(join(dir, stage, job, 'metrics.json'), 'utf8')) as JobMetrics })));
      return new Map(read.map((r) => [r.m.method, r]));
    };

    const pretext = await metrics('pretext');
    assert.deepEqual([...pretext.keys()].sort(), ['autoencoder', 'context-encoder', 'random']);
    for (const [method, { job, m }] of pretext) {
      assert.ok(Number.isFinite(m.summary.heldout_masked_l2) && m.summary.heldout_masked_l2 > 0, `${method}: ${JSON.stringify(m.summary)}`);
      // The generator is saved at its own size; there is no AlexNet encoder to save.
      assert.ok(!existsSync(join(dir, 'pretext', job, 'checkpoint')), `${method} wrote checkpoint/`);
      const generator = await loadModel(join(dir, 'pretext', job, 'generator'));
      assert.deepEqual(generator.inputs[0].shape, [null, SIZE, SIZE, 3]);
      assert.deepEqual(generator.outputs[0].shape, [null, SIZE, SIZE, 3]);
      // It predicts the centre square of half the side; the rest of its output is zero.
      const out = tf.tidy(() => (generator.predict(tf.randomUniform([1, SIZE, SIZE, 3], -1, 1, 'float32', 4)) as tf.Tensor).dataSync());
      const q = SIZE / 4;
      let outside = 0;
      let inside = 0;
      out.forEach((v, i) => {
        const [y, x] = [Math.floor(i / 3 / SIZE), Math.floor(i / 3) % SIZE];
        if (y >= q && y < 3 * q && x >= q && x < 3 * q) inside += Math.abs(v);
        else outside += Math.abs(v);
      });
      assert.equal(outside, 0, method);
      assert.ok(inside > 0, method);
      generator.dispose();
    }
    trained = join(dir, 'pretext', pretext.get('context-encoder')!.job);
    // The joint loss logged both terms at every step.
    const log = (await readFile(join(dir, 'pretext', pretext.get('context-encoder')!.job, 'log.csv'), 'utf8')).trim().split('\n').slice(1);
    assert.equal(log.length, 3);
    for (const row of log) {
      const [, loss, rec, adv, d] = row.split(',').map(Number);
      assert.ok(adv > 0 && d > 0 && Math.abs(loss - (0.999 * rec + 0.001 * adv)) < 1e-5, row);
    }

    const inpainting = await metrics('inpainting');
    assert.deepEqual([...inpainting.keys()].sort(), ['autoencoder', 'context-encoder', 'random']);
    for (const [method, { job, m }] of inpainting) {
      for (const key of ['l1', 'l2', 'psnr', 'baseline_l1', 'baseline_l2', 'baseline_psnr']) {
        assert.ok(Number.isFinite(m.summary[key]) && m.summary[key] > 0, `${method} ${key}: ${m.summary[key]}`);
      }
      assert.equal(m.samples?.length, 6, method);
      for (const png of m.samples!) {
        const image = decode(await readFile(join(dir, 'inpainting', job, png)));
        assert.deepEqual([image.width, image.height], [SIZE, SIZE], png);
      }
    }
  });

  it('bench inpaint fills a centre hole with it, and refuses other holes with one line, exit 2', async () => {
    const tsx = pathToFileURL(join(repo, 'node_modules/tsx/dist/loader.mjs')).href;
    const inpaint = (mask: string) =>
      spawnSync(process.execPath, ['--import', tsx, join(repo, 'src/cli.ts'), 'inpaint', '--checkpoint', trained, '--image', join(data, 'heldout', '000.png'), '--out', join(root, `${mask}.png`), '--mask', mask, '--backend', 'wasm'], { cwd: root, encoding: 'utf8' });
    const centre = inpaint('center');
    assert.equal(centre.status, 0, centre.stderr);
    assert.match(centre.stdout, /^l1 [\d.]+ {2}l2 [\d.]+ {2}psnr [\d.]+ dB/);
    const block = inpaint('random-block');
    assert.equal(block.status, 2);
    assert.deepEqual(block.stderr.trim().split('\n'), [
      `error: --mask: the dcgan generator of ${trained} predicts only the centre square of half the image side, so it cannot fill "random-block" holes; use "center"`,
    ]);
    assert.ok(!existsSync(join(root, 'random-block.png')));
  });

  it('leaks no tensors across training steps (LeanAdam, BatchNorm, the centre discriminator)', async () => {
    const counts: number[] = [];
    for (const steps of [1, 3]) {
      const file = join(root, `leak-${steps}.json`);
      const exp = experiment(data, { name: `dcgan-leak-${steps}`, downstream: [] });
      (exp.pretext as object[]).splice(1);
      (exp.pretext as Record<string, unknown>[])[0].steps = steps;
      await writeFile(file, JSON.stringify(exp));
      const before = tf.memory().numTensors;
      await runExperiment(file, { backend: 'wasm', resultsRoot: join(root, 'leak') });
      counts.push(tf.memory().numTensors - before);
    }
    assert.deepEqual(counts, [0, 0], `tensors left behind after 1 and 3 steps: ${counts}`);
  });
});

describe('what the dcgan generator cannot do is refused at load', function () {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'ceb-dcgan-load-'));
  });
  after(() => rm(root, { recursive: true, force: true }));

  async function refusal(exp: Record<string, unknown>): Promise<string> {
    const file = join(root, `exp-${Math.random().toString(36).slice(2)}.json`);
    await writeFile(file, JSON.stringify(exp));
    let message = '';
    await assert.rejects(loadExperiment(file), (err: Error) => {
      message = err.message;
      return err instanceof UserError;
    });
    return message.replace(`${file} `, '');
  }

  it('a transfer task, with one line naming its JSON path; `bench run` exits 2 writing nothing', async () => {
    const exp = experiment(join(root, 'missing'), { downstream: [{ task: 'classification' }, { task: 'inpainting' }] });
    assert.equal(
      await refusal(exp),
      '/downstream/0/task: classification reads the pretext encoder\'s layers, and the dcgan generator (/model/generator) has no encoder; remove the task or the generator',
    );
    const file = join(root, 'transfer.json');
    await writeFile(file, JSON.stringify({ ...exp, downstream: [{ task: 'classification', protocols: ['finetune'] }] }));
    const tsx = pathToFileURL(join(repo, 'node_modules/tsx/dist/loader.mjs')).href;
    const r = spawnSync(process.execPath, ['--import', tsx, join(repo, 'src/cli.ts'), 'run', file, '--backend', 'wasm', '--results', join(root, 'results')], { cwd: root, encoding: 'utf8' });
    assert.equal(r.status, 2, r.stderr);
    assert.deepEqual(r.stderr.trim().split('\n'), [
      `error: ${file} /downstream/0/task: classification reads the pretext encoder's layers, and the dcgan generator (/model/generator) has no encoder; remove the task or the generator`,
    ]);
    assert.ok(!existsSync(join(root, 'results')));
  });

  it('holes outside the centre it predicts, dropout it has no place for, methods that train only an encoder, encoder fields', async () => {
    const base = experiment(join(root, 'missing'));
    const pretext = base.pretext as Record<string, unknown>[];
    const cases: [Record<string, unknown>, string][] = [
      [{ ...base, pretext: [{ ...pretext[0], mask: 'random-region' }] }, '/pretext/0/mask: the dcgan generator (/model/generator) predicts only the centre square of half the image side, so it cannot fill "random-region" holes; use "center"'],
      [{ ...base, pretext: [{ ...pretext[1], evalMask: 'random-block' }] }, '/pretext/0/evalMask: the dcgan generator (/model/generator) predicts only the centre square of half the image side, so it cannot fill "random-block" holes; use "center"'],
      [{ ...base, pretext: [{ ...pretext[0], holeFraction: 0.3 }] }, '/pretext/0/holeFraction: 0.3 gives centre holes larger than the centre square of half the side that the dcgan generator (/model/generator) predicts; use at most 0.25'],
      [{ ...base, pretext: [{ ...pretext[0], dropout: 0.5 }] }, '/pretext/0/dropout: the dcgan generator (/model/generator) has no channel-wise FC to drop out after; remove dropout'],
      [{ ...base, pretext: [{ method: 'rotation', split: 'train' }], downstream: [] }, "/pretext/0/method: rotation trains the model's encoder, which the dcgan generator (/model/generator) does not have; remove the entry or the generator"],
      [{ ...base, downstream: [{ task: 'inpainting', mask: 'random-block' }] }, '/downstream/0/mask: the dcgan generator (/model/generator) predicts only the centre square of half the image side, so it cannot fill "random-block" holes; use "center"'],
      [{ ...base, model: { generator: 'dcgan', inputSize: 96 } }, '/model/inputSize: must be one of 16, 32, 64, 128, 256, 512 (got 96)'],
      [{ ...base, model: { generator: 'dcgan', encoder: 'alexnet' } }, '/model: unknown field "encoder"; allowed fields: generator, inputSize, bottleneck'],
      [{ ...base, model: { inputSize: 99, bottleneck: 100 } }, '/model: unknown field "bottleneck"; allowed fields: encoder, inputSize, decoderWidths, widthMultiplier, generator'],
    ];
    for (const [exp, want] of cases) assert.equal(await refusal(exp), want);
  });

  it('fills the defaults (128 px, bottleneck 4000) only when the generator is named', async () => {
    const file = join(root, 'defaults.json');
    await writeFile(file, JSON.stringify({ ...experiment(join(root, 'missing')), model: { generator: 'dcgan' } }));
    assert.deepEqual((await loadExperiment(file)).model, { generator: 'dcgan', inputSize: 128, bottleneck: 4000 });
    await writeFile(file, JSON.stringify({ ...experiment(join(root, 'missing')), model: {}, pretext: [{ method: 'autoencoder' }], downstream: [] }));
    assert.deepEqual((await loadExperiment(file)).model, { inputSize: 227, widthMultiplier: 1 });
  });
});
