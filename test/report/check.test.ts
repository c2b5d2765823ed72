import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../../src/errors.js';
import { runCheck } from '../../src/report/index.js';
import { loadResults } from '../../src/results/load.js';
import { Baseline, checkAgainstBaseline, makeBaseline, parseBaseline, readBaseline } from '../../src/results/baseline.js';
import { writeFixture } from './fixture.js';

describe('check against a baseline', function () {
  let dir: string;
  let experimentFile: string;

  before(async function () {
    dir = await mkdtemp(join(tmpdir(), 'check-test-'));
    await writeFixture(join(dir, 'results'));
    experimentFile = join(dir, 'fixture.json');
    await writeFile(experimentFile, JSON.stringify({ name: 'fixture' }));
  });

  after(async function () {
    await rm(dir, { recursive: true, force: true });
  });

  it('sets tolerance = max(3 std over seeds, floor) and a direction per metric', async function () {
    const { baseline, warnings } = makeBaseline(await loadResults('fixture', join(dir, 'results')));
    assert.deepEqual(warnings, []);
    const find = (method: string, task: string, metric: string) => baseline.metrics.find((m) => m.method === method && m.task === task && m.metric === metric);
    // 0.50, 0.52, 0.54: std 0.02 -> tolerance 0.06
    assert.deepEqual(find('context-encoder', 'classification', 'mAP'), {
      method: 'context-encoder',
      task: 'classification',
      protocol: 'finetune',
      metric: 'mAP',
      expected: 0.52,
      tolerance: 0.06,
      direction: 'higher',
      seeds: 3,
    });
    // baseline_l1 is 0.2 for every seed: std 0, so the floor 1% of 0.2 = 0.002
    assert.equal(find('context-encoder', 'inpainting', 'baseline_l1')?.tolerance, 0.002);
    assert.equal(find('context-encoder', 'inpainting', 'l2')?.direction, 'lower');
    assert.equal(find('context-encoder', 'inpainting', 'psnr')?.direction, 'higher');
    assert.equal(find('autoencoder', 'pretext', 'final_loss')?.direction, 'lower');
    assert.equal(find('autoencoder', 'pretext', 'train_seconds'), undefined, 'timings are not gated');
  });

  it('derives only the orderings that hold by more than the combined std', async function () {
    const { baseline } = makeBaseline(await loadResults('fixture', join(dir, 'results')));
    assert.deepEqual(
      baseline.orderings.map((o) => `${o.better}>${o.worse} ${o.task}`),
      [
        'autoencoder>random classification',
        'context-encoder>random classification',
        'context-encoder>autoencoder classification',
        'autoencoder>random detection',
        'context-encoder>random detection',
        'context-encoder>autoencoder detection',
        // no autoencoder segmentation job, so only one ordering there
        'context-encoder>random segmentation',
        // inpainting L2 0.021 against the mean-colour fill's 0.061 (lower is better)
        'context-encoder>mean-fill inpainting',
      ],
    );
    assert.deepEqual(baseline.orderings.at(-1), { task: 'inpainting', protocol: 'finetune', metric: 'l2', better: 'context-encoder', worse: 'mean-fill', direction: 'lower' });
  });

  it('an inpainter that fills holes worse than their mean colour fails the mean-fill ordering', async function () {
    const { baseline } = makeBaseline(await loadResults('fixture', join(dir, 'results')));
    const root = join(dir, 'results-worse-than-fill');
    // l2 0.07, 0.071, 0.072: above the fill's 0.06-0.062
    await writeFixture(root, { adjust: (method, task, metric, _seed, v) => (method === 'context-encoder' && task === 'inpainting' && metric === 'l2' ? v + 0.05 : v) });
    const { rows } = checkAgainstBaseline(await loadResults('fixture', root), baseline);
    const ordering = rows.find((r) => r.kind === 'ordering' && r.check === 'context-encoder < mean-fill: inpainting/finetune l2');
    assert.equal(ordering?.status, 'regressed');
    assert.equal(ordering?.actual, '0.061 - 0.071 = -0.01');
  });

  it('floors the tolerance and warns when a metric has fewer than 3 seeds', async function () {
    const results = await loadResults('fixture', join(dir, 'results'));
    const twoSeeds = { ...results, rows: results.rows.filter((r) => r.seed !== 3) };
    const { baseline, warnings } = makeBaseline(twoSeeds);
    const ce = baseline.metrics.find((m) => m.method === 'context-encoder' && m.task === 'classification' && m.metric === 'mAP');
    // mean of 0.50, 0.52 = 0.51; floor = 1% of 0.51
    assert.equal(ce?.tolerance, 0.0051);
    assert.ok(warnings.some((w) => w.startsWith('context-encoder classification/finetune mAP: 2 seeds (< 3)')));
  });

  it('passes on the same results and on a rerun within the seed spread', async function () {
    const { baseline } = makeBaseline(await loadResults('fixture', join(dir, 'results')));
    const same = checkAgainstBaseline(await loadResults('fixture', join(dir, 'results')), baseline);
    assert.equal(same.failed, false);
    assert.ok(same.rows.every((r) => r.status === 'ok'));
    assert.equal(same.rows.length, baseline.metrics.length + baseline.orderings.length);

    // Every score one std worse: within 3 std, so the gate must not flap.
    const root = join(dir, 'results-near');
    await writeFixture(root, {
      adjust: (method, task, metric, _seed, v) => (method === 'context-encoder' && task === 'classification' && metric === 'mAP' ? v - 0.02 : v),
    });
    assert.equal(checkAgainstBaseline(await loadResults('fixture', root), baseline).failed, false);
  });

  it('fails on a deliberately degraded result and names every regression', async function () {
    const { baseline } = makeBaseline(await loadResults('fixture', join(dir, 'results')));
    const root = join(dir, 'results-degraded');
    await writeFixture(root, {
      adjust: (method, task, metric, _seed, v) => {
        if (method === 'context-encoder' && task === 'classification' && metric === 'mAP') return v - 0.1;
        if (method === 'context-encoder' && task === 'inpainting' && metric === 'l2') return v + 0.01;
        return v;
      },
    });
    const { rows, failed } = checkAgainstBaseline(await loadResults('fixture', root), baseline);
    assert.equal(failed, true);
    assert.deepEqual(
      rows.filter((r) => r.status !== 'ok').map((r) => [r.kind, r.check, r.status]),
      [
        // 0.52 - 0.06 = 0.46 allowed, 0.42 measured
        ['metric', 'context-encoder classification/finetune mAP', 'regressed'],
        // 0.021 + 3 * 0.001 = 0.024 allowed, 0.031 measured (lower is better)
        ['metric', 'context-encoder inpainting/finetune l2', 'regressed'],
        // 0.42 is still above random's 0.41 but below the autoencoder's 0.46
        ['ordering', 'context-encoder > autoencoder: classification/finetune mAP', 'regressed'],
      ],
    );
  });

  it('reports a metric that disappeared from the results as missing', async function () {
    const results = await loadResults('fixture', join(dir, 'results'));
    const { baseline } = makeBaseline(results);
    const without = { ...results, rows: results.rows.filter((r) => !(r.method === 'context-encoder' && r.task === 'segmentation')) };
    const { rows, failed } = checkAgainstBaseline(without, baseline);
    assert.equal(failed, true);
    assert.deepEqual(
      rows.filter((r) => r.status === 'missing').map((r) => r.check),
      [
        'context-encoder segmentation/finetune meanIU',
        'context-encoder segmentation/finetune pixelAcc',
        'context-encoder > random: segmentation/finetune meanIU',
      ],
    );
  });

  it('runCheck: --update writes a baseline that the next check passes; a degraded run returns false (exit 1) with a table', async function () {
    const baselinePath = join(dir, 'baselines', 'smoke.json');
    const lines: string[] = [];
    const log = (l: string) => lines.push(l);
    const warn = () => undefined;
    const results = join(dir, 'results');
    assert.equal(await runCheck(experimentFile, { baseline: baselinePath, update: true, resultsRoot: results, log, warn }), true);
    const written = await readBaseline(baselinePath);
    assert.deepEqual(written, makeBaseline(await loadResults('fixture', results)).baseline);
    assert.equal(JSON.parse(await readFile(baselinePath, 'utf8')).experiment, 'fixture');

    lines.length = 0;
    assert.equal(await runCheck(experimentFile, { baseline: baselinePath, resultsRoot: results, log, warn }), true);
    assert.match(lines[0], /^check: all \d+ checks hold/);

    lines.length = 0;
    const degraded = join(dir, 'results-cli-degraded');
    await writeFixture(degraded, {
      adjust: (method, task, metric, _seed, v) => (method === 'context-encoder' && task === 'detection' && metric === 'mAP' ? v - 0.1 : v),
    });
    assert.equal(await runCheck(experimentFile, { baseline: baselinePath, resultsRoot: degraded, log, warn }), false);
    const text = lines.join('\n');
    assert.match(lines[0], /^check: 3 of \d+ checks regressed/);
    assert.match(text, /^status +check +baseline +allowed +current$/m);
    assert.match(text, /^REGRESSED +context-encoder detection\/finetune mAP +0\.31 ± 0\.03 +>= 0\.28 +0\.21 \(3 seeds\)$/m);
    assert.match(text, /^REGRESSED +context-encoder > random: detection\/finetune mAP/m);
    assert.match(text, /^REGRESSED +context-encoder > autoencoder: detection\/finetune mAP/m);
  });

  it('rejects a malformed baseline or one made for another experiment', async function () {
    const good: Baseline = {
      experiment: 'fixture',
      metrics: [{ method: 'random', task: 'classification', protocol: 'finetune', metric: 'mAP', expected: 0.4, tolerance: 0.01, direction: 'higher' }],
      orderings: [],
    };
    assert.deepEqual(parseBaseline(JSON.stringify(good), 'b.json'), good);
    const extra = { ...good, metrics: [{ ...good.metrics[0], tolerence: 1 }] };
    assert.throws(() => parseBaseline(JSON.stringify(extra), 'b.json'), /^UserError: b\.json: metrics\.0 must NOT have additional properties/);
    const direction = { ...good, metrics: [{ ...good.metrics[0], direction: 'up' }] };
    assert.throws(() => parseBaseline(JSON.stringify(direction), 'b.json'), /b\.json: metrics\.0\.direction must be equal to one of the allowed values/);
    assert.throws(() => parseBaseline('{', 'b.json'), UserError);
    await assert.rejects(readBaseline(join(dir, 'nope.json')), /baseline not found; create it .* --update/);

    const other = join(dir, 'other.json');
    await writeFile(other, JSON.stringify({ ...good, experiment: 'voc-cls' }));
    await assert.rejects(
      runCheck(experimentFile, { baseline: other, resultsRoot: join(dir, 'results'), log: () => undefined }),
      /baseline is for experiment "voc-cls", not "fixture"/,
    );
  });
});
