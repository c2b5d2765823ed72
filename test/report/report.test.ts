import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { decode } from 'fast-png';
import { UserError } from '../../src/errors.js';
import { buildInpaintingTable, buildTransferTables } from '../../src/report/content.js';
import { experimentNameFromFile, generateReport, runReport } from '../../src/report/index.js';
import { aggregate, loadResults } from '../../src/results/load.js';
import { groupSamples } from '../../src/report/samples.js';
import { formatDuration, formatMeanStd, latexEscape } from '../../src/report/tables.js';
import { writeFixture } from './fixture.js';

/** Cells of the first Markdown table row whose first two cells are `label` and `source`. */
function markdownRow(md: string, label: string, source: string): string[] {
  const line = md.split('\n').find((l) => l.startsWith(`| ${label} | ${source}`));
  assert.ok(line, `no row "${label} | ${source}"`);
  return line.slice(2, -2).split(' | ');
}

describe('report', function () {
  let dir: string;
  let resultsRoot: string;
  let reportsRoot: string;
  let files: string[];

  before(async function () {
    dir = await mkdtemp(join(tmpdir(), 'report-test-'));
    resultsRoot = join(dir, 'results');
    reportsRoot = join(dir, 'reports');
    await writeFixture(resultsRoot);
    ({ files } = await generateReport('fixture', { resultsRoot, reportsRoot }));
  });

  after(async function () {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes the tables in three formats, charts and sample grids', function () {
    const names = files.map((f) => relative(join(reportsRoot, 'fixture'), f));
    assert.deepEqual(names, [
      'charts/downstream-finetune.png',
      'charts/per-class-classification-ap-finetune.png',
      'charts/per-class-segmentation-iou-finetune.png',
      'charts/pretext-loss.png',
      'index.html',
      'samples/context-encoder-finetune.png',
      'tables.md',
      'tables.tex',
    ]);
  });

  it('formats mean ± sample std over seeds (checked by hand)', async function () {
    const md = await readFile(join(reportsRoot, 'fixture', 'tables.md'), 'utf8');
    // context encoder classification mAP 0.50, 0.52, 0.54: mean 52.0, std sqrt((4+0+4)/2) = 2.0
    // random segmentation 0.15, 0.155, 0.16: mean 15.5, std 0.5; autoencoder detection 0.28, 0.285, 0.29: 28.5 ± 0.5
    assert.deepEqual(markdownRow(md, 'Context encoder', 'ours'), ['Context encoder', 'ours, 3 seeds', '3.3 min', '52.0 ± 2.0', '31.0 ± 1.0', '21.0 ± 1.0']);
    assert.deepEqual(markdownRow(md, 'Random Gaussian', 'ours'), ['Random Gaussian', 'ours, 3 seeds', '< 0.1 s', '41.0 ± 1.0', '26.0 ± 1.0', '15.5 ± 0.5']);
    // inpainting l2 0.020, 0.021, 0.022 -> 2.10 ± 0.10 (%); psnr 17, 17.5, 18 -> 17.50 ± 0.50
    assert.deepEqual(markdownRow(md, 'Context encoder', 'ours, 3 seeds | 11'), ['Context encoder', 'ours, 3 seeds', '11.00 ± 1.00', '2.10 ± 0.10', '17.50 ± 0.50']);
    // mean fill l2 0.060, 0.061, 0.062 -> 6.10 ± 0.10
    assert.deepEqual(markdownRow(md, 'Mean fill (dataset mean colour)', 'ours'), [
      'Mean fill (dataset mean colour)',
      'ours, 3 seeds',
      '20.00 ± 0.00',
      '6.10 ± 0.10',
      '12.10 ± 0.10',
    ]);
    assert.equal(formatMeanStd({ mean: 0.523, std: 0.0123, n: 3 }, 100, 1), '52.3 ± 1.2');
    assert.equal(formatMeanStd({ mean: 0.523, std: 0, n: 1 }, 100, 1), '52.3');
    assert.equal(formatMeanStd({ mean: -0.0001, std: 0, n: 1 }, 100, 1), '0.0');
  });

  it('leaves a cell empty, not zero, where a task was not run', async function () {
    const md = await readFile(join(reportsRoot, 'fixture', 'tables.md'), 'utf8');
    const autoencoder = markdownRow(md, 'Autoencoder', 'ours');
    assert.equal(autoencoder[5], '', 'autoencoder has no segmentation job');
    assert.equal(autoencoder[3], '46.0 ± 1.0');
    const results = await loadResults('fixture', resultsRoot);
    const [table] = buildTransferTables(results, aggregate(results.rows));
    const row = table.groups.flat().find((r) => !r.published && r.cells[0] === 'Autoencoder');
    assert.equal(row?.cells[5], '');
    const html = await readFile(join(reportsRoot, 'fixture', 'index.html'), 'utf8');
    assert.match(html, /<tr><td>Autoencoder<\/td><td>ours, 3 seeds<\/td><td class="num">42 s<\/td><td class="num">46\.0 ± 1\.0<\/td><td class="num">28\.5 ± 0\.5<\/td><td class="num"><\/td><\/tr>/);
  });

  it('shows the published rows beside ours, marked as published', async function () {
    const md = await readFile(join(reportsRoot, 'fixture', 'tables.md'), 'utf8');
    const lines = md.split('\n');
    const ours = lines.findIndex((l) => l.startsWith('| Context encoder | ours'));
    assert.equal(lines[ours + 1], '| Context encoder | published | 14 hours | 56.5 | 44.5 | 30.0 (a) |');
    assert.ok(lines.includes('| Agrawal et al. | published | 10 hours | 52.9 | 41.8 |  |'));
    assert.match(md, /\(a\) Segmentation 30\.0 is quoted from the CVPR 2016 version.*29\.7/);
    assert.ok(lines.includes('| Context encoder reconstructions | published | 9.37 | 1.96 | 18.58 |'));
    const results = await loadResults('fixture', resultsRoot);
    const table1 = buildInpaintingTable(results, aggregate(results.rows));
    assert.deepEqual(
      table1.groups.flat().map((r) => [r.cells[0], r.published === true]),
      [
        ['Context encoder', false],
        ['Mean fill (dataset mean colour)', false],
        ['NN-inpainting (HOG features)', true],
        ['NN-inpainting (context-encoder features)', true],
        ['Context encoder reconstructions', true],
      ],
    );
  });

  it('writes LaTeX with booktabs rules and escaped specials', async function () {
    const tex = await readFile(join(reportsRoot, 'fixture', 'tables.tex'), 'utf8');
    const count = (s: string) => tex.split(s).length - 1;
    const tables = count('\\begin{tabular}');
    assert.equal(tables, 4, 'Table 2, Table 1, two per-class tables');
    assert.equal(count('\\toprule'), tables);
    assert.equal(count('\\bottomrule'), tables);
    assert.ok(count('\\midrule') >= tables);
    assert.match(tex, /Context encoder & ours, 3 seeds & 3\.3 min & 52\.0 \$\\pm\$ 2\.0 & /);
    assert.match(tex, /Cls\. mAP \(\\%\)/);
    assert.doesNotMatch(tex, /[^\\]%.*\\\\$/m, 'no unescaped % inside a table row');
    assert.equal(latexEscape('a_b & "c" 5%'), "a\\_b \\& ``c'' 5\\%");
  });

  it('writes one self-contained HTML page', async function () {
    const html = await readFile(join(reportsRoot, 'fixture', 'index.html'), 'utf8');
    assert.doesNotMatch(html, /https?:\/\//);
    assert.doesNotMatch(html, /<script|<link|href=/i);
    const sources = [...html.matchAll(/src="([^"]*)"/g)].map((m) => m[1]);
    assert.equal(sources.length, 5, 'four charts and one sample grid');
    for (const src of sources) assert.ok(src.startsWith('data:image/png;base64,'), src.slice(0, 40));
    const embedded = Buffer.from(sources[0].slice('data:image/png;base64,'.length), 'base64');
    assert.deepEqual(embedded, await readFile(join(reportsRoot, 'fixture', 'charts', 'downstream-finetune.png')));
  });

  it('writes valid PNGs of the intended size on a white background', async function () {
    const expected: Record<string, [number, number]> = {
      'charts/downstream-finetune.png': [900, 520],
      'charts/pretext-loss.png': [900, 520],
      'charts/per-class-classification-ap-finetune.png': [900, 560],
      // 32 px samples grow x3 to 96 px cells: 6 + 3 * (96 + 6) wide, 34 + 26 + 2 * (96 + 6) + 6 high
      'samples/context-encoder-finetune.png': [312, 270],
    };
    for (const [file, [width, height]] of Object.entries(expected)) {
      const bytes = await readFile(join(reportsRoot, 'fixture', file));
      assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], `${file} PNG signature`);
      assert.equal(bytes.toString('latin1', 12, 16), 'IHDR');
      assert.deepEqual([bytes.readUInt32BE(16), bytes.readUInt32BE(20)], [width, height], file);
      const image = decode(bytes);
      assert.equal(image.width, width);
      const corner = [...image.data.subarray(0, 3)];
      assert.deepEqual(corner, [255, 255, 255], `${file} background`);
    }
  });

  it('regenerates byte-identically from the same results', async function () {
    const again = await generateReport('fixture', { resultsRoot, reportsRoot: join(dir, 'reports-again') });
    assert.equal(again.files.length, files.length);
    for (let i = 0; i < files.length; i++) {
      const a = await readFile(files[i]);
      const b = await readFile(again.files[i]);
      assert.ok(a.equals(b), `${relative(reportsRoot, files[i])} differs`);
    }
  });

  it('says which command to run when the results folder is missing', async function () {
    await assert.rejects(
      generateReport('never-run', { resultsRoot, reportsRoot }),
      (err: Error) => err instanceof UserError && err.message === `${join(resultsRoot, 'never-run')}/ not found: run \`bench run <experiment.json>\` first`,
    );
  });

  it('takes the experiment name from the JSON, else from the file name', async function () {
    const named = join(dir, 'some-file.json');
    await writeFile(named, JSON.stringify({ name: 'fixture', pretext: {} }));
    assert.equal(await experimentNameFromFile(named), 'fixture');
    assert.equal(await experimentNameFromFile(join(dir, 'voc-cls.json')), 'voc-cls');
    await writeFile(join(dir, 'bad.json'), JSON.stringify({ name: '../escape' }));
    await assert.rejects(experimentNameFromFile(join(dir, 'bad.json')), UserError);
    const lines: string[] = [];
    const out = await runReport(named, { resultsRoot, reportsRoot: join(dir, 'reports-cli'), log: (l) => lines.push(l) });
    assert.equal(out.files.length, files.length);
    assert.match(lines[0], /index\.html \(8 files/);
  });

  it('pairs sample files by role word and warns about a listed sample that is gone', async function () {
    assert.deepEqual(groupSamples(['/x/s-1-truth.png', '/x/s-1-input.png', '/x/s-1-pred.png', '/x/row-2.png']), [
      { key: '/x/row-2.png', composite: '/x/row-2.png' },
      { key: 's-1', truth: '/x/s-1-truth.png', input: '/x/s-1-input.png', prediction: '/x/s-1-pred.png' },
    ]);
    const root = join(dir, 'results-missing');
    await writeFixture(root);
    await unlink(join(root, 'fixture', 'jobs', 'context-encoder-inpainting-s1', 'samples', 'sample-1-pred.png'));
    const out = await generateReport('fixture', { resultsRoot: root, reportsRoot: join(dir, 'reports-missing') });
    assert.equal(out.warnings.length, 1);
    assert.match(out.warnings[0], /sample-1-pred\.png: listed in context-encoder-inpainting-s1's metrics\.json samples but not found/);
  });

  it('formats pre-training time in a readable unit', function () {
    assert.deepEqual([0.01, 4.21, 41.4, 192, 50400].map(formatDuration), ['< 0.1 s', '4.2 s', '41 s', '3.2 min', '14.0 h']);
  });
});
