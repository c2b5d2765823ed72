import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { decode } from 'fast-png';
import { after, before, describe, it } from 'mocha';
import { runExperiment } from '../src/experiment/run.js';
import { UserError } from '../src/errors.js';

const repo = resolve('.');

/** Runs the CLI from source, as `bench` would run from dist. */
function bench(args: string[], cwd: string): { status: number | null; stdout: string; stderr: string } {
  const tsx = pathToFileURL(join(repo, 'node_modules/tsx/dist/loader.mjs')).href;
  const r = spawnSync(process.execPath, ['--import', tsx, join(repo, 'src/cli.ts'), ...args], { cwd, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function experiment(root: string, classificationSteps = 5): object {
  return {
    name: 'tiny',
    seeds: [3],
    datasets: { synth: { format: 'voc', root: join(root, 'voc'), synthesize: { images: 24, size: 72, seed: 5, classes: 3 } } },
    model: { inputSize: 67, widthMultiplier: 0.125 },
    pretext: [
      { method: 'context-encoder', steps: 3, batchSize: 4, heldoutImages: 4 },
      { method: 'random', heldoutImages: 4 },
    ],
    downstream: [
      { task: 'classification', steps: classificationSteps, batchSize: 8, headWidths: [16, 16] },
      { task: 'inpainting', maxTestImages: 4, samples: 1 },
    ],
  };
}

describe('bench CLI and the experiment runner', function () {
  let root: string;
  /** Finished pretext jobs of the tiny experiment (results root holding tiny/), which tests read or copy but never change. */
  let fixture: string;

  /** A results root of the test's own, starting as a copy of the fixture: no test depends on another's leftovers or order. */
  async function ownResults(name: string): Promise<string> {
    const dir = join(root, name);
    await cp(fixture, dir, { recursive: true });
    return dir;
  }

  async function pretextDir(results: string, prefix: string): Promise<string> {
    const pretext = join(results, 'tiny', 'pretext');
    return join(pretext, (await readdir(pretext)).find((d) => d.startsWith(prefix))!);
  }

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'ceb-cli-'));
    fixture = join(root, 'fixture');
    const file = join(root, 'fixture.json');
    await writeFile(file, JSON.stringify({ ...experiment(root), downstream: [] }));
    await runExperiment(file, { backend: 'wasm', resultsRoot: fixture });
  });

  after(() => rm(root, { recursive: true, force: true }));

  it('exits 2 with one line naming the file when the experiment is missing', () => {
    const r = bench(['run', join(root, 'nope.json')], root);
    assert.equal(r.status, 2);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.match(r.stderr, /^error: .*nope\.json: experiment file not found/);
  });

  it('exits 2 listing every schema error with its JSON path, before any work', async () => {
    // A folder of its own: the fixture has synthesized a dataset under root.
    const dir = join(root, 'schema-errors');
    await mkdir(dir);
    const file = join(dir, 'bad.json');
    await writeFile(file, JSON.stringify({ ...experiment(dir), seeds: ['x'], pretext: [{ method: 'random', steps: -2 }] }));
    const r = bench(['run', file, '--backend', 'wasm'], dir);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /bad\.json \/seeds\/0: must be integer/);
    assert.match(r.stderr, /bad\.json \/pretext\/0\/steps: must be >= 0/);
    assert.equal(existsSync(join(dir, 'results')), false);
    assert.equal(existsSync(join(dir, 'voc')), false);
  });

  it('exits 2 with the line and column of a JSON syntax error, writing nothing', async () => {
    const file = join(root, 'syntax.json');
    await writeFile(file, '{\n  "name": "tiny",\n  "seeds": [3,]\n}\n');
    const r = bench(['run', file, '--backend', 'wasm', '--results', join(root, 'results-syntax')], root);
    assert.equal(r.status, 2);
    assert.equal(r.stderr, `error: ${file}:3:15: not valid JSON: trailing comma before ]; fix the syntax there\n`);
    assert.equal(existsSync(join(root, 'results-syntax')), false);
  });

  it('exits 2 saying where the data comes from when a dataset path is missing', async () => {
    const file = join(root, 'nodata.json');
    const exp = experiment(root) as { datasets: { synth: { synthesize?: unknown; root: string } } };
    delete exp.datasets.synth.synthesize;
    exp.datasets.synth.root = join(root, 'VOC2007');
    await writeFile(file, JSON.stringify(exp));
    const r = bench(['run', file], root);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /\/datasets\/synth\/root: .*VOC2007 does not exist; PASCAL VOC comes from http:\/\/host\.robots\.ox\.ac\.uk/);
  });

  it('runs every job once, reuses them all on a second run, and reruns only a changed task', async () => {
    const file = join(root, 'tiny.json');
    await writeFile(file, JSON.stringify(experiment(root)));
    const results = join(root, 'results-run');
    const first = await runExperiment(file, { backend: 'wasm', resultsRoot: results });
    assert.equal(first.ran.length, 6);
    assert.equal(first.reused.length, 0);
    const csv = (await readFile(join(results, 'tiny', 'results.csv'), 'utf8')).trim().split('\n');
    assert.equal(csv[0], 'experiment,method,task,protocol,layer,seed,metric,value,backend,wall_s,img_per_s,job');
    assert.ok(csv.some((l) => l.startsWith('tiny,context-encoder,classification,frozen,pool5,3,mAP,')));
    assert.ok(csv.some((l) => l.startsWith('tiny,random,pretext,,,3,heldout_masked_l2,')));

    const second = bench(['run', file, '--backend', 'wasm', '--results', results], root);
    assert.equal(second.status, 0, second.stderr);
    assert.equal((second.stderr.match(/: reusing /g) ?? []).length, 6);
    assert.match(second.stderr, /0 jobs ran, 6 reused/);

    await writeFile(file, JSON.stringify(experiment(root, 6)));
    const third = await runExperiment(file, { backend: 'wasm', resultsRoot: results });
    assert.deepEqual(third.ran.map((id) => id.split('/')[0]), ['classification', 'classification']);
    assert.equal(third.reused.length, 4);
    // No job folder is left under a temporary name.
    for (const dir of ['pretext', 'classification', 'inpainting']) {
      assert.ok((await readdir(join(results, 'tiny', dir))).every((d) => !d.includes('.tmp-')));
    }
  });

  it('copies an identical pretext job from another experiment instead of retraining it, under this experiment\'s label', async () => {
    const base = experiment(root) as { name: string; pretext: { name?: string }[]; downstream: unknown[] };
    base.name = 'tiny-other';
    base.pretext[0].name = 'ce';
    base.downstream = [];
    const file = join(root, 'other.json');
    await writeFile(file, JSON.stringify(base));
    const results = await ownResults('results-copy');
    const run = await runExperiment(file, { backend: 'wasm', resultsRoot: results });
    assert.equal(run.ran.length, 0);
    assert.equal(run.reused.length, 2);
    const csv = await readFile(join(results, 'tiny-other', 'results.csv'), 'utf8');
    assert.match(csv, /^tiny-other,ce,pretext,,,3,heldout_masked_l2,/m);
    assert.doesNotMatch(csv, /context-encoder/);
  });

  it('bench inpaint fills one image and prints L1, L2 and PSNR', async () => {
    const ce = await pretextDir(fixture, 'context-encoder-');
    const image = join(root, 'voc', 'JPEGImages', '000001.jpg');
    const out = join(root, 'filled.png');
    const r = bench(['inpaint', '--checkpoint', ce, '--image', image, '--out', out, '--backend', 'wasm'], root);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^l1 0\.\d{4} {2}l2 0\.\d{4} {2}psnr \d+\.\d\d dB/);
    const png = decode(await readFile(out));
    assert.equal(png.width, 67 * 3);
    assert.equal(png.height, 67);
  });

  it('bench inpaint refuses a checkpoint of another network (the encoder) with one line, exit 2', async () => {
    const encoder = join(await pretextDir(fixture, 'context-encoder-'), 'checkpoint');
    const out = join(root, 'never.png');
    const r = bench(['inpaint', '--checkpoint', encoder, '--image', join(root, 'voc', 'JPEGImages', '000001.jpg'), '--out', out, '--backend', 'wasm'], root);
    assert.equal(r.status, 2);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /checkpoint: not an inpainting generator \(it maps \[67,67,3\] to \[1,1,32\]/);
    assert.equal(existsSync(out), false);
  });

  it('a damaged pretext checkpoint stops the downstream job that reads it, and is not silently retrained', async () => {
    const results = await ownResults('results-damaged');
    const random = await pretextDir(results, 'random-');
    const weights = join(random, 'checkpoint', 'weights.bin');
    await truncate(weights, 64);
    const file = join(root, 'tiny.json');
    await writeFile(file, JSON.stringify(experiment(root, 7)));
    await assert.rejects(runExperiment(file, { backend: 'wasm', resultsRoot: results }), (err: Error) =>
      err instanceof UserError && err.message.startsWith(`${join(random, 'checkpoint')}: weight files hold 64 bytes but model.json describes`) && /delete the job folder that holds it/.test(err.message),
    );
    assert.equal((await stat(weights)).size, 64);
    assert.ok(existsSync(join(random, 'metrics.json')));
  });

  it('bench synth writes a VOC folder and refuses to overwrite one', () => {
    const out = join(root, 'synth');
    const r = bench(['synth', '--out', out, '--images', '8', '--size', '48', '--seed', '2', '--classes', '2'], root);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(existsSync(join(out, 'ImageSets', 'Main', 'trainval.txt')));
    const again = bench(['synth', '--out', out, '--images', '8'], root);
    assert.equal(again.status, 2);
    assert.match(again.stderr, /already exists/);
  });
});
