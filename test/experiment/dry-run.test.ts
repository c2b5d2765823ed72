import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import sharp from 'sharp';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'mocha';
import { syntheticSplitSize } from '../../src/data/synthetic.js';
import { dryRun } from '../../src/experiment/dry-run.js';
import { loadExperiment } from '../../src/experiment/load.js';
import { makePlan } from '../../src/experiment/plan.js';

const repo = resolve('.');

describe('bench run --dry-run', function () {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'ceb-dry-'));
  });
  after(() => rm(root, { recursive: true, force: true }));

  it('estimates every job of every committed experiment, naming missing datasets, with a total', async () => {
    const files = (await readdir(join(repo, 'experiments'))).filter((f) => f.endsWith('.json')).sort();
    assert.ok(files.length >= 5, files.join());
    for (const file of files) {
      const exp = await loadExperiment(join(repo, 'experiments', file));
      const report = await dryRun(exp, 'wasm', { timedBatch: 1, timedSteps: 1 });
      const plan = makePlan(exp, 'wasm');
      assert.deepEqual(report.jobs.map((j) => j.id), plan.map((j) => j.id), file);
      for (const j of report.jobs) {
        assert.ok(Number.isFinite(j.seconds) && j.seconds >= 0 && j.peakBytes > 0 && j.diskBytes >= 0, `${file} ${j.id}: ${JSON.stringify(j)}`);
      }
      // Every training job costs time; the sum is the total.
      for (const j of report.jobs.filter((j) => /steps of/.test(j.note))) assert.ok(j.seconds > 0, `${file} ${j.id}`);
      assert.ok(Math.abs(report.totalSeconds - report.jobs.reduce((s, j) => s + j.seconds, 0)) < 1e-6);
      const missing = Object.entries(exp.datasets).filter(([, ds]) => !existsSync(ds.root)).map(([key]) => key);
      assert.deepEqual(report.missing.map((m) => /^dataset (\S+):/.exec(m)?.[1]), missing, file);
      // Without the data, passes over its images are priced per 1,000 images rather than dropped.
      if (missing.length > 0 && !Object.values(exp.datasets).some((ds) => ds.synthesize)) {
        assert.ok(report.jobs.some((j) => j.secondsPer1000Unknown > 0), file);
      }
    }
  });

  it('prices a present folder dataset for methods without held-out images (rotation, supervised)', async () => {
    const data = join(root, 'folder');
    for (const split of ['train', 'test']) {
      for (const cls of ['a', 'b']) {
        await mkdir(join(data, split, cls), { recursive: true });
        for (let i = 0; i < 3; i++) {
          await sharp({ create: { width: 40, height: 32, channels: 3, background: { r: 40 * i, g: cls === 'a' ? 200 : 20, b: 90 } } })
            .jpeg()
            .toFile(join(data, split, cls, `${i}.jpg`));
        }
      }
    }
    const file = join(root, 'folder-exp.json');
    await writeFile(
      file,
      JSON.stringify({
        name: 'folder-exp',
        seeds: [1],
        datasets: { f: { format: 'folder', root: data } },
        model: { encoder: 'alexnet-small', inputSize: 32, widthMultiplier: 0.125 },
        pretext: [
          { method: 'rotation', split: 'train', steps: 5, batchSize: 4, loadScale: 1 },
          { method: 'context-encoder', split: 'train', heldoutSplit: 'test', heldoutImages: 4, steps: 5, batchSize: 4, loadScale: 1 },
        ],
        downstream: [{ task: 'classification', trainSplit: 'train', testSplit: 'test', protocols: ['knn', 'linear'], layers: ['conv2'], probeEpochs: 7 }],
      }),
    );
    const report = await dryRun(await loadExperiment(file), 'wasm', { timedBatch: 1, timedSteps: 1 });
    assert.deepEqual(report.missing, []);
    for (const j of report.jobs) assert.ok(Number.isFinite(j.seconds) && j.seconds > 0 && j.secondsPer1000Unknown === 0, JSON.stringify(j));
    // The probes say what they do after the features: no "head steps" for jobs that train no head.
    const notes = new Set(report.jobs.filter((j) => j.id.startsWith('classification/')).map((j) => j.note));
    assert.deepEqual([...notes].sort(), ['7 epochs of a linear probe on cached features (probe not timed)', 'k-NN vote (k 20) on cached features, no training']);
  });

  it('a frozen job: memory does not grow with the training set, the feature store on disk does (4 views x pool5 floats an image)', async () => {
    const estimate = async (images: number) => {
      const file = join(root, `frozen-${images}.json`);
      await writeFile(
        file,
        JSON.stringify({
          name: `frozen-${images}`,
          seeds: [1],
          datasets: { synth: { format: 'voc', root: join(root, `absent-${images}`), synthesize: { images, minSide: 64, maxSide: 96, seed: 5, classes: 3 } } },
          model: { inputSize: 67, widthMultiplier: 0.125 },
          pretext: [{ method: 'random', heldoutImages: 4 }],
          downstream: [{ task: 'classification', protocols: ['frozen'], steps: 5, batchSize: 8, headWidths: [16, 16] }],
        }),
      );
      const report = await dryRun(await loadExperiment(file), 'wasm', { timedBatch: 1, timedSteps: 1 });
      return report.jobs.find((j) => j.id.startsWith('classification/'))!;
    };
    const [small, large] = [await estimate(40), await estimate(40000)];
    // Equal but for the process's own RSS at the start of each dry run; features held in memory would add 10 MB.
    assert.ok(Math.abs(large.peakBytes - small.peakBytes) < 1e6, `peak ${small.peakBytes} -> ${large.peakBytes}`);
    // pool5 of AlexNet at 67 px and width 1/8: 1 x 1 x 32 floats.
    const trainImages = (n: number) => syntheticSplitSize(n, 'trainval', 'Main')!;
    assert.equal(large.diskBytes - small.diskBytes, (trainImages(40000) - trainImages(40)) * 4 * 32 * 4);
  });

  it('exits 0 and writes nothing: no results folder, no synthetic dataset', async () => {
    const file = join(root, 'tiny.json');
    const data = join(root, 'voc');
    await writeFile(
      file,
      JSON.stringify({
        name: 'tiny',
        seeds: [1, 2],
        datasets: { synth: { format: 'voc', root: data, synthesize: { images: 24, minSide: 64, maxSide: 96, seed: 5, classes: 3 } } },
        model: { inputSize: 67, widthMultiplier: 0.125 },
        pretext: [{ method: 'context-encoder', steps: 30, batchSize: 4, heldoutImages: 4 }],
        downstream: [{ task: 'classification', protocols: ['frozen', 'finetune'], steps: 5, batchSize: 8, headWidths: [16, 16] }],
      }),
    );
    const tsx = pathToFileURL(join(repo, 'node_modules/tsx/dist/loader.mjs')).href;
    const r = spawnSync(process.execPath, ['--import', tsx, join(repo, 'src/cli.ts'), 'run', file, '--dry-run', '--backend', 'wasm', '--results', join(root, 'results')], { cwd: root, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.match(lines[0], /^experiment tiny \(dry run on wasm; nothing written\): 6 jobs$/);
    assert.match(lines[1], /^dataset synth: .* is missing; the run would first write a synthetic VOC-layout dataset there \(24 images/);
    // The dataset the run would synthesize is counted from its split sizes: no per-1,000-image remainder.
    assert.equal(lines.filter((l) => /^ {2}(pretext|classification)\/.*: \d\S*, peak memory [\d.]+ \S+, disk [\d.]+ \S+ \(/.test(l)).length, 6, r.stderr);
    assert.match(lines[lines.length - 1], /^total: \S+, peak memory [\d.]+ \S+ \(largest job\), disk [\d.]+ \S+$/);
    assert.ok(!existsSync(data) && !existsSync(join(root, 'results')));
  });
});
