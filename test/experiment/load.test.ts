import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'mocha';
import { likelyTypo, loadExperiment, validateExperiment } from '../../src/experiment/load.js';
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
      datasets: { synth: { format: 'voc', root: 'x' }, folder: { format: 'folder', root: 'y' } },
    });
    const joined = problems.join('\n');
    assert.match(joined, /\/pretext\/0\/dataset: "nope" is not a key of \/datasets/);
    assert.match(joined, /\/pretext\/1\/name: "random" is used twice/);
    assert.match(joined, /\/downstream\/0\/dataset: detection needs object boxes, which only datasets of format "voc" have; "folder" is format "folder"/);
    assert.equal(problems.length, 3, joined);
    // Fields come from the format's registration: only formats that can write a synthetic dataset take synthesize.
    const synth = validateExperiment({ ...minimal, datasets: { folder: { format: 'folder', root: 'y', synthesize: { images: 10, size: 64, seed: 1 } } } });
    assert.deepEqual(synth, ['/datasets/folder: unknown field "synthesize"; allowed fields: format, root, onBadSample']);
  });

  it('gives a UserError naming the file for missing files and bad JSON', async () => {
    await assert.rejects(loadExperiment('/nonexistent/exp.json'), (err: Error) => err instanceof UserError && /\/nonexistent\/exp.json: experiment file not found/.test(err.message));
    const file = await writeExperiment('{ "name": ');
    await assert.rejects(loadExperiment(file), (err: Error) => err instanceof UserError && err.message.startsWith(`${file}:1:11: not valid JSON: unexpected end of file`));
  });

  it('names the line and column of a JSON syntax error, including at the end of the file', async () => {
    const trailing = await writeExperiment('{\n  "name": "x",\n  "seeds": [1,],\n}');
    await assert.rejects(loadExperiment(trailing), (err: Error) => err instanceof UserError && err.message.startsWith(`${trailing}:3:15: not valid JSON: trailing comma before ]`));
    const cut = await writeExperiment('{\n  "name": "x",\n  "seeds": [1');
    await assert.rejects(loadExperiment(cut), (err: Error) => err instanceof UserError && err.message.startsWith(`${cut}:3:14: not valid JSON: unexpected end of file`));
    const quote = await writeExperiment("{\n  'name': 'x'\n}");
    await assert.rejects(loadExperiment(quote), (err: Error) => err instanceof UserError && err.message.startsWith(`${quote}:2:3: not valid JSON: expected a double-quoted field name, found "'"`));
  });

  it('names the likely typo of an unknown field, else the allowed fields', () => {
    const problems = validateExperiment({ ...minimal, seed: [1], model: { inputsize: 99 }, pretext: [{ method: 'random', stpes: 3, zebra: 1 }] });
    const joined = problems.join('\n');
    assert.match(joined, /^\/: unknown field "seed"; did you mean "seeds"\?$/m);
    assert.match(joined, /^\/model: unknown field "inputsize"; did you mean "inputSize"\?$/m);
    assert.match(joined, /^\/pretext\/0: unknown field "stpes"; did you mean "steps"\?$/m);
    assert.match(joined, /^\/pretext\/0: unknown field "zebra"; allowed fields: method, name, dataset, /m);
    assert.equal(likelyTypo('holefraction', ['holeFraction', 'overlapPx']), 'holeFraction');
    assert.equal(likelyTypo('colour', ['method', 'steps']), undefined);
  });

  it('shows the value given beside the allowed values', () => {
    const joined = validateExperiment({ ...minimal, pretext: [{ method: 'jigsaw' }, { method: 'random', lr: 0 }] }).join('\n');
    assert.match(joined, /\/pretext\/0\/method: must be one of "context-encoder", "autoencoder", "random", "rotation", "supervised" \(got "jigsaw"\)/);
    assert.match(joined, /\/pretext\/1\/lr: must be > 0 \(got 0\)/);
  });

  it('rejects contradictory settings', () => {
    const joined = validateExperiment({
      ...minimal,
      datasets: { synth: { format: 'voc', root: 'x' }, imgs: { format: 'folder', root: 'y' } },
      downstream: [
        { task: 'segmentation', dataset: 'imgs' },
        { task: 'classification', finetuneFrom: 'conv3' },
        { task: 'classification', protocols: ['finetune'], layer: 'conv2', finetuneFrom: 'conv4' },
      ],
    }).join('\n');
    assert.match(joined, /\/downstream\/0\/dataset: segmentation needs label maps, which only datasets of format "voc" have; "imgs" is format "folder"/);
    assert.match(joined, /\/downstream\/1\/finetuneFrom: only the finetune protocol reads it, and protocols is \["frozen"\]; add "finetune" or remove finetuneFrom/);
    assert.match(joined, /\/downstream\/2\/finetuneFrom: "conv4" is above layer "conv2"/);
    // probeDims belongs to knn and linear alike: either one reads it.
    const probe = (protocols: string[]) => validateExperiment({ ...minimal, downstream: [{ task: 'classification', protocols, probeDims: 4000 }] });
    assert.deepEqual(probe(['frozen']), ['/downstream/0/probeDims: only the knn and linear protocols read it, and protocols is ["frozen"]; add "knn" or remove probeDims']);
    assert.deepEqual(probe(['frozen', 'linear']), []);
    assert.deepEqual(probe(['knn']), []);
    // A task's own fields come from its registration: detection's apMethod has no sklearn.
    const detection = validateExperiment({ ...minimal, downstream: [{ task: 'detection', apMethod: 'sklearn' }] });
    assert.deepEqual(detection, ['/downstream/0/apMethod: must be one of "voc07", "area" (got "sklearn")']);
  });

  it('checks the optimiser, schedule and scale-augmentation fields, and fills none of them in when absent', () => {
    const problems = (entry: Record<string, unknown>) => validateExperiment({ ...minimal, downstream: [{ task: 'classification', ...entry }] });
    assert.deepEqual(problems({ optimizer: 'rmsprop' }), ['/downstream/0/optimizer: must be one of "adam", "sgd" (got "rmsprop")']);
    assert.deepEqual(problems({ momentum: 0.9 }), [
      '/downstream/0/momentum: only the sgd optimizer reads it, and optimizer is adam (the default); add "optimizer": "sgd" or remove momentum',
    ]);
    assert.deepEqual(problems({ optimizer: 'sgd', lrStepEvery: 10000 }), ['/downstream/0/lrStepEvery: give lrGamma too, the factor applied every lrStepEvery steps']);
    assert.deepEqual(problems({ lrGamma: 0.5 }), ['/downstream/0/lrGamma: give lrStepEvery too, the number of steps between two multiplications']);
    assert.deepEqual(problems({ protocols: ['finetune'], scaleAugment: [2, 0.5] }), ['/downstream/0/scaleAugment: give [min, max], the smaller factor first (got [2, 0.5])']);
    assert.deepEqual(problems({ scaleAugment: [0.5, 2] }), [
      '/downstream/0/scaleAugment: applies to the random crops of protocols that train the encoder, and none of ["frozen"] does (they train on fixed views); add one that fine-tunes or remove scaleAugment',
    ]);
    assert.match(problems({ scaleAugment: [0, 2] }).join('\n'), /\/downstream\/0\/scaleAugment\/0: must be > 0/);
    // Detection and segmentation read the optimiser fields too; scale augmentation is classification's.
    assert.deepEqual(validateExperiment({ ...minimal, downstream: [{ task: 'segmentation', momentum: 0.5 }] }).map((p) => p.split(':')[0]), ['/downstream/0/momentum']);
    assert.match(validateExperiment({ ...minimal, downstream: [{ task: 'detection', scaleAugment: [0.5, 2] }] }).join('\n'), /unknown field "scaleAugment"/);

    const entry: Record<string, unknown> = { task: 'classification', protocols: ['finetune'] };
    const paper = { ...entry, optimizer: 'sgd', momentum: 0.9, weightDecay: 1e-6, clipGradNorm: 10, lrStepEvery: 10000, lrGamma: 0.5, scaleAugment: [0.5, 2] };
    const exp = { ...minimal, downstream: [entry, { ...paper, layer: 'conv5' }] };
    assert.deepEqual(validateExperiment(exp), []);
    for (const field of ['optimizer', 'momentum', 'weightDecay', 'clipGradNorm', 'lrStepEvery', 'lrGamma', 'scaleAugment']) {
      assert.ok(!(field in entry), `${field} was filled in: it would enter the job key of every existing entry`);
    }
  });

  it('accepts the committed experiments', async () => {
    for (const name of ['smoke', 'voc-cls', 'voc-det', 'voc-seg', 'inpaint']) {
      const exp = await loadExperiment(join('experiments', `${name}.json`));
      assert.equal(exp.name, name);
    }
  });
});
