import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'mocha';
import { loadExperiment, validateExperiment } from '../../src/experiment/load.js';
import { UserError } from '../../src/errors.js';

const minimal = {
  name: 'tiny',
  seeds: [1],
  datasets: { synth: { format: 'voc', root: 'data/x' } },
  model: { inputSize: 99, widthMultiplier: 0.25 },
  pretext: [{ method: 'context-encoder' }],
};

async function writeExperiment(value: unknown): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ceb-exp-'));
  const file = join(dir, 'exp.json');
  await writeFile(file, typeof value === 'string' ? value : JSON.stringify(value));
  return file;
}

describe('experiment loading', () => {
  it('fills defaults and resolves paths against the file', async () => {
    const file = await writeExperiment(minimal);
    const exp = await loadExperiment(file);
    assert.equal(exp.pretext[0].name, 'context-encoder');
    assert.equal(exp.pretext[0].mask, 'random-region');
    assert.equal(exp.pretext[0].overlapPx, 4);
    assert.equal(exp.pretext[0].overlapWeight, 10);
    assert.equal(exp.pretext[0].lambdaRec, 0.999);
    assert.equal(exp.pretext[0].dataset, 'synth');
    assert.equal(exp.datasets.synth.root, join(file, '..', 'data/x'));
    assert.deepEqual(exp.downstream, []);
  });

  it('reports every schema error with its JSON path', () => {
    const bad = {
      ...minimal,
      seeds: [1, 'two'],
      model: { inputSize: 40 },
      pretext: [{ method: 'jigsaw' }, { method: 'autoencoder', steps: -1, colour: 'red' }],
    };
    const problems = validateExperiment(bad);
    const joined = problems.join('\n');
    assert.match(joined, /\/seeds\/1: must be integer/);
    assert.match(joined, /\/model\/inputSize: must be >= 67/);
    assert.match(joined, /\/pretext\/0\/method: must be one of "context-encoder", "autoencoder", "random"/);
    assert.match(joined, /\/pretext\/1\/steps: must be >= 0/);
    assert.match(joined, /\/pretext\/1: unknown field "colour"/);
    assert.ok(problems.length >= 5, joined);
  });

  it('checks references between sections', () => {
    const problems = validateExperiment({
      ...minimal,
      pretext: [{ method: 'random', dataset: 'nope' }, { method: 'random' }],
      downstream: [{ task: 'detection', dataset: 'folder' }],
      datasets: { synth: { format: 'voc', root: 'x' }, folder: { format: 'folder', root: 'y', synthesize: { images: 10, size: 64, seed: 1 } } },
    });
    const joined = problems.join('\n');
    assert.match(joined, /\/pretext\/0\/dataset: "nope" is not a key of \/datasets/);
    assert.match(joined, /\/pretext\/1\/name: "random" is used twice/);
    assert.match(joined, /\/downstream\/0\/dataset: detection needs a dataset of format "voc"/);
    assert.match(joined, /\/datasets\/folder\/synthesize: only datasets of format "voc"/);
  });

  it('gives a UserError naming the file for missing files and bad JSON', async () => {
    await assert.rejects(loadExperiment('/nonexistent/exp.json'), (err: Error) => err instanceof UserError && /\/nonexistent\/exp.json: experiment file not found/.test(err.message));
    const file = await writeExperiment('{ "name": ');
    await assert.rejects(loadExperiment(file), (err: Error) => err instanceof UserError && err.message.startsWith(`${file}: not valid JSON`));
  });

  it('accepts the committed experiments', async () => {
    for (const name of ['smoke', 'voc-cls', 'voc-det', 'voc-seg', 'inpaint']) {
      const exp = await loadExperiment(join('experiments', `${name}.json`));
      assert.equal(exp.name, name);
    }
  });
});
