/**
 * "One file plus one line": a dataset format, a pretext method and two
 * protocols (one choosing what trains, one fitting on features as kNN would)
 * registered from this test file alone (no other source file knows them) run
 * through load -> plan -> run -> results.csv -> report, and the load-time
 * checks derived from what they declare refuse what they cannot do. An entry
 * with several layers keeps one result per layer from results.csv to the report.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { parse } from 'csv-parse/sync';
import { after, before, describe, it } from 'mocha';
import { DATASET_FORMATS, registerDatasetFormat } from '../src/data/formats/index.js';
import type { SampleRef } from '../src/data/formats/types.js';
import { PROTOCOLS, registerProtocol } from '../src/downstream/index.js';
import { initBackend } from '../src/engine/backend.js';
import { saveModel } from '../src/engine/checkpoint.js';
import { Rng } from '../src/engine/random.js';
import { validateExperiment } from '../src/experiment/load.js';
import { runExperiment } from '../src/experiment/run.js';
import { DEFAULT_ENCODER, ENCODERS, TRAINABLE_ENCODER_LAYERS, type EncoderLayer } from '../src/models/encoders/index.js';
import type { PretextCommonConfig } from '../src/pretext/config.js';
import { ENCODER_DIR, PRETEXT_METHODS, registerPretext } from '../src/pretext/index.js';
import { generateReport } from '../src/report/index.js';
import { aggregate, loadResults } from '../src/results/load.js';

const SIDE = 40;

/** Test-only format: 2 classes of generated images (dark / bright noise), `count` per split, as raw pixels. */
function registerMemoryFormat(): void {
  registerDatasetFormat({
    name: 'test-memory',
    description: 'generated in memory (tests)',
    config: { properties: { count: { type: 'integer', minimum: 2, default: 12 } } },
    provides: { labels: true, multiLabel: false, boxes: false, labelMaps: false },
    missingHelp: 'any existing folder will do',
    async open(root, { config }) {
      const count = config?.count as number;
      return {
        root,
        classes: ['dark', 'bright'],
        async list(split, opts) {
          if (opts?.with === 'labelMaps') return [];
          return Array.from({ length: count }, (_, i): SampleRef => {
            const label = i % 2;
            const rng = new Rng(split === 'test' ? 1000 + i : i);
            const data = Uint8Array.from({ length: SIDE * SIDE * 3 }, () => (label ? 150 : 0) + rng.int(100));
            return { id: `${split}-${i}`, source: `${root}#${split}/${i}`, image: async () => ({ data, width: SIDE, height: SIDE, channels: 3 }), labels: [label] };
          });
        },
      };
    },
  });
}

/** Test-only pretext method: the registered encoder at its seeded initialisation (no generator), after counting its dataset. */
function registerNoiseInit(): void {
  registerPretext<PretextCommonConfig & { split: string }>({
    name: 'test-noise-init',
    description: 'the encoder as initialised (tests)',
    config: { properties: { split: { type: 'string', default: 'trainval' } } },
    needs: { labels: false },
    produces: { encoder: true, generator: false },
    async train(job, ctx) {
      const size = job.model.inputSize;
      const input = tf.input({ shape: [size, size, 3] });
      const features = ENCODERS.get(job.model.encoder ?? DEFAULT_ENCODER).build({ input, inputSize: size, seed: job.seed, model: job.model });
      const encoder = tf.model({ inputs: input, outputs: features });
      await saveModel(encoder, join(job.outDir, ENCODER_DIR));
      encoder.dispose();
      const images = (await ctx.dataset.list(job.config.split)).length;
      return { summary: { images_seen: images }, imgPerSec: 0, skippedSamples: [] };
    },
  });
}

/** Test-only protocol: trains only the highest convolution at or below the layer the task reads. */
function registerTopOnly(): void {
  registerProtocol({
    name: 'test-top-only',
    description: 'only the top convolution trains (tests)',
    config: { properties: {} },
    tasks: ['classification'],
    trainedLayers: (_config, layer: EncoderLayer) => {
      const below = TRAINABLE_ENCODER_LAYERS.filter((l) => l.replace('conv', '') <= layer.replace(/\D/g, ''));
      return below.slice(-1);
    },
  });
}

/**
 * Test-only protocol that fits on features (as kNN would): each test image
 * scores a class by minus its squared distance to that class's mean training feature.
 */
function registerNearestMean(): void {
  registerProtocol({
    name: 'test-nearest-mean',
    description: 'nearest class mean on frozen features (tests)',
    config: { properties: {} },
    trainedLayers: () => [],
    fitFeatures({ features, labels, featureSize }) {
      const classes = labels[0].length;
      const means = Array.from({ length: classes }, (_, k) => {
        const rows = labels.map((l, i) => (l[k] === 1 ? i : -1)).filter((i) => i >= 0);
        return Float64Array.from({ length: featureSize }, (_, f) => rows.reduce((sum, i) => sum + features[i * featureSize + f], 0) / rows.length);
      });
      return (test, count) => {
        const scores = new Float32Array(count * classes);
        for (let i = 0; i < count; i++) {
          for (let k = 0; k < classes; k++) {
            let d = 0;
            for (let f = 0; f < featureSize; f++) d += (test[i * featureSize + f] - means[k][f]) ** 2;
            scores[i * classes + k] = -d;
          }
        }
        return scores;
      };
    },
  });
}

function experimentJson(root: string, downstream: object[]): object {
  return {
    name: 'plugins',
    seeds: [4],
    datasets: { mem: { format: 'test-memory', root, count: 10 } },
    model: { inputSize: 67, widthMultiplier: 0.125 },
    pretext: [{ method: 'test-noise-init' }],
    downstream,
  };
}

describe('registries: a format, a pretext method and protocols from one test file run end to end', function () {
  let root: string;

  before(async () => {
    await initBackend('wasm');
    root = await mkdtemp(join(tmpdir(), 'ceb-plugins-'));
    await mkdir(join(root, 'mem'));
    registerMemoryFormat();
    registerNoiseInit();
    registerTopOnly();
    registerNearestMean();
  });

  after(async () => {
    DATASET_FORMATS.unregister('test-memory');
    PRETEXT_METHODS.unregister('test-noise-init');
    PROTOCOLS.unregister('test-top-only');
    PROTOCOLS.unregister('test-nearest-mean');
    await rm(root, { recursive: true, force: true });
  });

  it('plans, runs, writes results.csv and reports one result per protocol and layer', async () => {
    const file = join(root, 'plugins.json');
    const classification = { task: 'classification', protocols: ['frozen', 'test-top-only', 'test-nearest-mean'], layers: ['conv3', 'pool5'], steps: 2, batchSize: 4, headWidths: [8] };
    await writeFile(file, JSON.stringify(experimentJson(join(root, 'mem'), [classification])));
    const results = join(root, 'results');
    const summary = await runExperiment(file, { backend: 'wasm', resultsRoot: results });
    assert.equal(summary.ran.length, 7, summary.ran.join(', '));

    const rows = parse(await readFile(join(results, 'plugins', 'results.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
    const pretext = rows.filter((r) => r.task === 'pretext').map((r) => [r.method, r.metric, r.value, r.layer]);
    assert.deepEqual(pretext, [['test-noise-init', 'images_seen', '10', '']]);
    const keys = rows.filter((r) => r.task === 'classification' && r.metric === 'accuracy').map((r) => `${r.protocol}@${r.layer}`);
    assert.deepEqual(keys.sort(), ['frozen@conv3', 'frozen@pool5', 'test-nearest-mean@conv3', 'test-nearest-mean@pool5', 'test-top-only@conv3', 'test-top-only@pool5']);
    // Dark and bright noise are apart in any feature space: the nearest class mean gets every test image right.
    assert.deepEqual(rows.filter((r) => r.protocol === 'test-nearest-mean' && r.metric === 'accuracy').map((r) => r.value), ['1', '1']);

    const loaded = await loadResults('plugins', results);
    const stats = [...aggregate(loaded.rows).values()].filter((s) => s.task === 'classification' && s.metric === 'mAP');
    assert.deepEqual(stats.map((s) => `${s.protocol}@${s.layer}`), [
      'frozen@conv3',
      'frozen@pool5',
      'test-nearest-mean@conv3',
      'test-nearest-mean@pool5',
      'test-top-only@conv3',
      'test-top-only@pool5',
    ]);

    await generateReport('plugins', { resultsRoot: results, reportsRoot: join(root, 'reports') });
    const tables = await readFile(join(root, 'reports', 'plugins', 'tables.md'), 'utf8');
    assert.match(tables, /Table 2: transfer of pre-trained features \(protocol: test-top-only\)/);
    assert.match(tables, /\| Cls\. mAP \(%\) conv3 \| Cls\. mAP \(%\) pool5 \|/);
  });

  it('refuses at load what the registrations say cannot work', () => {
    const problems = (downstream: object[]) => validateExperiment(experimentJson(join(root, 'mem'), downstream));
    assert.deepEqual(problems([{ task: 'inpainting' }]), [
      '/downstream/0/task: inpainting scores a generator, which pretext method "test-noise-init" (/pretext/0) does not produce; remove the task or that method',
    ]);
    assert.deepEqual(problems([{ task: 'detection' }]), ['/downstream/0/dataset: detection needs object boxes, which only datasets of format "voc" have; "mem" is format "test-memory"']);
    // test-top-only names classification only; test-nearest-mean fits on features, which segmentation does not take.
    for (const protocol of ['test-top-only', 'test-nearest-mean']) {
      assert.deepEqual(problems([{ task: 'segmentation', protocols: [protocol] }]), [`/downstream/0/protocols/0: must be one of "frozen", "finetune" (got "${protocol}")`]);
    }
    assert.deepEqual(problems([{ task: 'classification', layers: ['conv3', 'pool5'] }, { task: 'classification', layer: 'pool5', lr: 0.1 }]), [
      '/downstream/1: gives the same results as /downstream/0/layers/1 (classification/frozen at layer pool5), which would overwrite each other; results are keyed by task, protocol and layer: merge the entries or change one',
    ]);
  });

  it('refuses a second registration under a taken name', () => {
    assert.throws(() => registerProtocol({ name: 'frozen', description: '', config: { properties: {} }, trainedLayers: () => [] }), /protocol "frozen" is registered twice/);
  });
});
