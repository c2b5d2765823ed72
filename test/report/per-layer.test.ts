/**
 * Results at several encoder layers in the report: the per-layer data (layers
 * input to output, means and stds over seeds) checked by hand, then a tiny
 * experiment run end to end (a folder dataset of dark and bright images,
 * knn and linear at conv1-conv3, each pooled to about 1,000 values) whose
 * report carries our per-layer tables, the published ImageNet rows and one
 * line chart per protocol.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { decode } from 'fast-png';
import { after, before, describe, it } from 'mocha';
import sharp from 'sharp';
import { initBackend } from '../../src/engine/backend.js';
import { Rng } from '../../src/engine/random.js';
import { runExperiment } from '../../src/experiment/run.js';
import { perLayerSeries } from '../../src/report/charts.js';
import { buildPublishedPerLayerTable, collectPerLayer } from '../../src/report/content.js';
import { generateReport } from '../../src/report/index.js';
import { aggregate, loadResults, mean, type ExperimentResults, type ResultRow } from '../../src/results/load.js';

function row(method: string, layer: string, seed: number, value: number, metric = 'accuracy', protocol = 'linear'): ResultRow {
  return { method, task: 'classification', protocol, layer, metric, seed, value, backend: 'wasm', job: `${method}-${layer}-${seed}` };
}

describe('per-layer results in the report', function () {
  it('orders layers input to output and averages each over seeds (by hand)', () => {
    const rows = [
      // Written out of order on purpose: pool5 first, conv3 before conv1.
      row('random', 'pool5', 1, 0.3),
      row('random', 'pool5', 2, 0.34),
      row('random', 'conv3', 1, 0.4),
      row('random', 'conv3', 2, 0.44),
      row('random', 'conv1', 1, 0.2),
      row('random', 'conv1', 2, 0.22),
      row('context-encoder', 'conv1', 1, 0.25),
      row('context-encoder', 'conv3', 1, 0.5),
      row('context-encoder', 'conv3', 2, 0.52),
      row('random', 'conv1', 1, 0.6, 'mAP'),
      row('random', 'conv1', 1, 0.9, 'accuracy', 'frozen'),
    ];
    const results: ExperimentResults = { experiment: 'x', root: '/x', rows, jobs: [] };
    const data = collectPerLayer(results, aggregate(rows));
    // frozen has one layer only: no per-layer comparison; mAP gives way to accuracy.
    assert.deepEqual(
      data.map((d) => [d.task, d.protocol, d.metric]),
      [['classification', 'linear', 'accuracy']],
    );
    const [d] = data;
    assert.deepEqual(d.layers, ['conv1', 'conv3', 'pool5']);
    assert.deepEqual(d.methods, ['random', 'context-encoder']);
    const series = perLayerSeries(d, new Map([['random', '#000000']]));
    assert.deepEqual(series.map((s) => s.label), ['Random Gaussian', 'Context encoder']);
    const round = (values: (number | null)[]) => values.map((v) => (v === null ? null : Math.round(v * 1e6) / 1e6));
    // random: conv1 (20 + 22) / 2 = 21, conv3 42, pool5 32; std of two values a, b = |a - b| / sqrt 2.
    assert.deepEqual(round(series[0].values), [21, 42, 32]);
    assert.deepEqual(round(series[0].errors), round([2 / Math.SQRT2, 4 / Math.SQRT2, 4 / Math.SQRT2]));
    // context encoder: one seed at conv1 (no whisker), 51 at conv3, not run at pool5.
    assert.deepEqual(round(series[1].values), [25, 51, null]);
    assert.deepEqual(round(series[1].errors), [null, round([2 / Math.SQRT2])[0], null]);
    assert.equal(series[0].color, '#000000');
  });

  it("shows Zhang et al.'s published rows as printed, conv1 to conv5", () => {
    const table = buildPublishedPerLayerTable();
    assert.deepEqual(table.columns.map((c) => c.label), ['Pre-training', 'Source', 'conv1', 'conv2', 'conv3', 'conv4', 'conv5']);
    const cells = Object.fromEntries(table.groups[0].map((r) => [r.cells[0], r.cells.slice(2)]));
    assert.deepEqual(cells['Gaussian (random)'], ['11.6*', '17.1', '16.9', '16.3', '14.1']);
    assert.deepEqual(cells['Context encoder (Pathak et al.)'], ['14.1', '20.7', '21.0', '19.8', '15.5']);
    assert.deepEqual(cells['ImageNet labels'], ['19.3', '36.3', '44.2', '48.3', '50.5']);
    assert.ok(table.groups[0].every((r) => r.published));
    assert.match(table.notes.join(' '), /ImageNet/);
  });

  describe('a tiny experiment run end to end', function () {
    this.timeout(300_000);
    let root: string;
    const layers = ['conv1', 'conv2', 'conv3'];

    before(async () => {
      await initBackend('wasm');
      root = await mkdtemp(join(tmpdir(), 'ceb-per-layer-'));
      // Two classes apart in any feature space: dark and bright noise, 32 px, 8 per class and split.
      for (const split of ['train', 'test']) {
        for (const [label, cls] of ['dark', 'bright'].entries()) {
          await mkdir(join(root, 'data', split, cls), { recursive: true });
          for (let i = 0; i < 8; i++) {
            const rng = new Rng((split === 'test' ? 1000 : 0) + 10 * i + label);
            const pixels = Uint8Array.from({ length: 32 * 32 * 3 }, () => (label ? 150 : 0) + rng.int(100));
            await sharp(pixels, { raw: { width: 32, height: 32, channels: 3 } }).png().toFile(join(root, 'data', split, cls, `${i}.png`));
          }
        }
      }
      const experiment = {
        name: 'layers',
        seeds: [1, 2],
        datasets: { tiny: { format: 'folder', root: 'data' } },
        model: { encoder: 'alexnet-small', inputSize: 32, widthMultiplier: 0.25 },
        pretext: [
          { method: 'random', heldoutSplit: 'test', heldoutImages: 4, overlapPx: 0 },
          { method: 'rotation', split: 'train', steps: 2, batchSize: 4, logEvery: 1 },
        ],
        // conv1 16x16x24, conv2 8x8x64 and conv3 4x4x96 pool to 6x6x24, 4x4x64 and 3x3x96 at 1,000.
        downstream: [{ task: 'classification', trainSplit: 'train', testSplit: 'test', protocols: ['knn', 'linear'], layers, probeDims: 1000, k: 3 }],
      };
      await writeFile(join(root, 'layers.json'), JSON.stringify(experiment));
      await runExperiment(join(root, 'layers.json'), { backend: 'wasm', resultsRoot: join(root, 'results') });
    });

    after(() => rm(root, { recursive: true, force: true }));

    it('runs knn through the pooled features and keeps one result per layer', async () => {
      const results = await loadResults('layers', join(root, 'results'));
      const accuracy = results.rows.filter((r) => r.task === 'classification' && r.metric === 'accuracy');
      assert.equal(accuracy.length, 2 * 2 * 2 * layers.length, 'methods x protocols x seeds x layers');
      // Dark and bright noise: every test image's nearest training images are of its class, pooled or not.
      const knn = accuracy.filter((r) => r.protocol === 'knn').map((r) => r.value);
      assert.deepEqual(knn, knn.map(() => 1));
      const csv = await readFile(join(root, 'results', 'layers', 'results.csv'), 'utf8');
      assert.match(csv, /knn,conv1,1,accuracy/);
    });

    it('draws one per-layer chart per protocol, with its layers in order and the means over seeds', async () => {
      const reportsRoot = join(root, 'reports');
      const { files } = await generateReport('layers', { resultsRoot: join(root, 'results'), reportsRoot });
      const names = files.map((f) => relative(join(reportsRoot, 'layers'), f));
      for (const protocol of ['knn', 'linear']) {
        const file = `charts/per-layer-classification-accuracy-${protocol}.png`;
        assert.ok(names.includes(file), `${file} in ${names.join(', ')}`);
        const bytes = await readFile(join(reportsRoot, 'layers', file));
        const image = decode(bytes);
        assert.deepEqual([image.width, image.height], [900, 520], file);
        assert.deepEqual([...image.data.subarray(0, 3)], [255, 255, 255], `${file} background`);
      }

      const results = await loadResults('layers', join(root, 'results'));
      const data = collectPerLayer(results, aggregate(results.rows));
      assert.deepEqual(data.map((d) => d.protocol).sort(), ['knn', 'linear']);
      for (const d of data) {
        assert.deepEqual(d.layers, layers);
        for (const [i, s] of perLayerSeries(d, new Map()).entries()) {
          const method = d.methods[i];
          const want = layers.map((layer) => 100 * mean(results.rows.filter((r) => r.method === method && r.protocol === d.protocol && r.layer === layer && r.metric === 'accuracy').map((r) => r.value)));
          assert.deepEqual(s.values.map((v) => v!.toFixed(6)), want.map((v) => v.toFixed(6)), `${d.protocol} ${method}`);
        }
      }

      const md = await readFile(join(reportsRoot, 'layers', 'tables.md'), 'utf8');
      assert.match(md, /\*\*Per-layer accuracy \(%\): classification \(protocol: linear\)\*\*/);
      assert.match(md, /\| Pre-training \| Source \| conv1 \| conv2 \| conv3 \|/);
      assert.match(md, /\*\*Published per-layer linear probe \(ImageNet, full AlexNet\): top-1 accuracy \(%\)\*\*/);
      assert.match(md, /\| Context encoder \(Pathak et al\.\) \| published \| 14\.1 \| 20\.7 \| 21\.0 \| 19\.8 \| 15\.5 \|/);
      // Pathak et al.'s Table 2 is PASCAL VOC: its rows stay out of a folder dataset's transfer table.
      assert.doesNotMatch(md, /\| Random Gaussian \| published \|/);
      assert.doesNotMatch(md, /\| Doersch et al\. \| published \| 4 weeks/);
      assert.match(md, /Table 2 rows are not shown: they were measured on PASCAL VOC/);
      assert.match(md, /!\[Per-layer accuracy \(%\): classification \(protocol: knn\).*\]\(charts\/per-layer-classification-accuracy-knn\.png\)/);
    });
  });
});
