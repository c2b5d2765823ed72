/**
 * Real files of a synthetic VOC dataset, corrupted one way each: every case
 * is a one-line error naming the file, or with onBadSample "skip" a sample
 * left out and reported.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'mocha';
import { loadImageBank } from '../../src/data/batches.js';
import { writePalettePng } from '../../src/data/palette.js';
import { BadSamples } from '../../src/data/samples.js';
import { writeSyntheticVoc } from '../../src/data/synthetic.js';
import { VocDataset } from '../../src/data/voc.js';
import { UserError } from '../../src/errors.js';
import { runExperiment } from '../../src/experiment/run.js';

const SKIP_HINT = ' (or set "onBadSample": "skip" on the dataset to leave such samples out)';

function userError(message: string | RegExp): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof UserError, String(err));
    if (typeof message === 'string') assert.equal(err.message, message);
    else assert.match(err.message, message);
    return true;
  };
}

describe('bad samples in a dataset', function () {
  let root: string;
  let pristine: string;
  let n = 0;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'ceb-bad-'));
    pristine = join(root, 'pristine');
    await writeSyntheticVoc({ out: pristine, images: 24, size: 64, seed: 5, classes: 3 });
  });
  after(() => rm(root, { recursive: true, force: true }));

  /** A fresh copy of the dataset to corrupt, and its first id of `split`. */
  async function copy(split = 'trainval', task: 'Main' | 'Segmentation' = 'Main'): Promise<{ voc: string; id: string; ids: string[] }> {
    n += 1;
    const voc = join(root, `voc-${n}`);
    await cp(pristine, voc, { recursive: true });
    const ids = (await readFile(join(voc, 'ImageSets', task, `${split}.txt`), 'utf8')).trim().split('\n');
    return { voc, id: ids[0], ids };
  }

  const jpeg = (voc: string, id: string) => join(voc, 'JPEGImages', `${id}.jpg`);

  it('an image listed but absent: stops naming it, or is skipped and reported', async () => {
    const { voc, id, ids } = await copy();
    await rm(jpeg(voc, id));
    const paths = ids.map((i) => jpeg(voc, i));
    await assert.rejects(loadImageBank(paths, 32), userError(`${jpeg(voc, id)}: image file not found; restore it, or remove it from the dataset's listing${SKIP_HINT}`));
    const bad = new BadSamples('skip');
    const bank = await loadImageBank(paths, 32, 'cover', bad);
    assert.deepEqual(bank.refs, paths.slice(1));
    assert.deepEqual(bank.kept, ids.slice(1).map((_, i) => i + 1));
    assert.deepEqual(bad.skipped, [`${jpeg(voc, id)}: image file not found; restore it, or remove it from the dataset's listing`]);
  });

  it('a truncated JPEG and a file that is not an image', async () => {
    const { voc, ids } = await copy();
    const [cut, text] = [jpeg(voc, ids[0]), jpeg(voc, ids[1])];
    await truncate(cut, Math.floor((await readFile(cut)).length / 2));
    await writeFile(text, 'not a picture\n');
    await assert.rejects(loadImageBank([cut], 32), userError(new RegExp(`^${cut}: cannot decode the image \\(.*premature end of JPEG.*\\); expected a readable JPEG or PNG \\(or set "onBadSample"`)));
    await assert.rejects(loadImageBank([text], 32), userError(new RegExp(`^${text}: cannot decode the image \\(.*unsupported image format.*\\); expected a readable JPEG or PNG`)));
    const bad = new BadSamples('skip');
    const bank = await loadImageBank(ids.map((i) => jpeg(voc, i)), 32, 'cover', bad);
    assert.equal(bank.images.length, ids.length - 2);
    assert.equal(bad.skipped.length, 2);
  });

  it('a malformed annotation names its line and column; an incomplete one names the object', async () => {
    const { voc, ids } = await copy();
    const [broken, incomplete] = ids.map((i) => join(voc, 'Annotations', `${i}.xml`));
    const xml = await readFile(broken, 'utf8');
    await writeFile(broken, xml.slice(0, xml.indexOf('</object>')));
    const other = await readFile(incomplete, 'utf8');
    await writeFile(incomplete, other.replace(/<bndbox>[\s\S]*?<\/bndbox>/, ''));
    const ds = await VocDataset.open(voc);
    await assert.rejects(ds.annotation(ids[0]), userError(new RegExp(`^${broken}:\\d+:\\d+: malformed XML \\(.+\\); expected a VOC annotation file$`)));
    await assert.rejects(ds.annotation(ids[1]), userError(`${incomplete}: object 1 lacks a name or a numeric bndbox (xmin, ymin, xmax, ymax)`));
  });

  it('an empty split', async () => {
    const { voc } = await copy();
    const split = join(voc, 'ImageSets', 'Main', 'train.txt');
    await writeFile(split, '\n');
    await assert.rejects((await VocDataset.open(voc)).ids('train'), userError(`${split}: the 'train' split lists no images; expected one image id per line`));
  });

  it('a label map of the wrong size, and one whose labels are not the dataset\'s classes', async () => {
    const { voc, ids } = await copy('train', 'Segmentation');
    const [small, foreign] = ids.map((i) => join(voc, 'SegmentationClass', `${i}.png`));
    await writePalettePng(small, { width: 32, height: 32, labels: new Uint8Array(32 * 32) });
    const labels = new Uint8Array(64 * 64);
    labels[64 * 2 + 5] = 9;
    await writePalettePng(foreign, { width: 64, height: 64, labels });
    const ds = await VocDataset.open(voc);
    await assert.rejects(ds.segmentation(ids[0]), userError(`${small}: label map is 32x32 but its image ${jpeg(voc, ids[0])} is 64x64; label maps must match their image pixel for pixel`));
    await assert.rejects(ds.segmentation(ids[1]), userError(`${foreign}: label 9 at pixel 5,2 is not a class of this dataset (0 background, 1..3, 255 void); expected a VOC palette label map`));
  });

  it('a missing dataset root names the path and the layout expected, and writes nothing', async () => {
    const file = join(root, 'missing.json');
    const nowhere = join(root, 'nowhere');
    await writeFile(file, JSON.stringify({ name: 'missing', seeds: [1], datasets: { d: { format: 'voc', root: nowhere } }, model: { inputSize: 67, widthMultiplier: 0.125 }, pretext: [{ method: 'random' }] }));
    await assert.rejects(
      runExperiment(file, { backend: 'wasm', resultsRoot: join(root, 'results-missing') }),
      userError(new RegExp(`^${file} /datasets/d/root: ${nowhere} does not exist; .*expected <root>/JPEGImages/<id>\\.jpg, <root>/Annotations/<id>\\.xml, <root>/ImageSets/Main/<split>\\.txt`)),
    );
    assert.equal(existsSync(join(root, 'results-missing')), false);
  });

  describe('bench run (built CLI)', () => {
    const cli = resolve('dist/src/cli.js');

    function experiment(voc: string, onBadSample?: 'skip'): object {
      return {
        name: 'bad',
        seeds: [1],
        datasets: { d: { format: 'voc', root: voc, ...(onBadSample ? { onBadSample } : {}) } },
        model: { inputSize: 67, widthMultiplier: 0.125 },
        pretext: [{ method: 'context-encoder', steps: 2, batchSize: 2, heldoutImages: 2, mask: 'center' }],
        downstream: [{ task: 'segmentation', trainSplit: 'train', testSplit: 'val', steps: 2, batchSize: 2, headWidths: [8], layer: 'conv5' }],
      };
    }

    it('stops by default: exit 2, one line naming the bad file, no job folder', async () => {
      const { voc, id } = await copy();
      await truncate(jpeg(voc, id), 100);
      const file = join(root, 'stop.json');
      await writeFile(file, JSON.stringify(experiment(voc)));
      const r = spawnSync(process.execPath, [cli, 'run', file, '--backend', 'wasm', '--results', join(root, 'results-stop')], { encoding: 'utf8' });
      assert.equal(r.status, 2, r.stderr);
      const errors = r.stderr.split('\n').filter((l) => l.startsWith('error:'));
      assert.equal(errors.length, 1);
      assert.match(errors[0], new RegExp(`^error: ${jpeg(voc, id)}: cannot decode the image .*\\(or set "onBadSample": "skip" on the dataset to leave such samples out\\)$`));
      assert.deepEqual((await readdir(join(root, 'results-stop', 'bad', 'pretext'))).filter((d) => !d.endsWith('.partial')), []);
    });

    it('with onBadSample "skip", runs on, lists the skipped files in metrics.json and reports them at the end', async () => {
      const { voc, ids } = await copy();
      const segIds = (await readFile(join(voc, 'ImageSets', 'Segmentation', 'trainval.txt'), 'utf8')).trim().split('\n');
      // A pretext image that the segmentation splits do not use, so each job skips one file.
      const id = ids.find((i) => !segIds.includes(i))!;
      await rm(jpeg(voc, id));
      const png = join(voc, 'SegmentationClass', `${segIds[0]}.png`);
      await writePalettePng(png, { width: 32, height: 32, labels: new Uint8Array(32 * 32) });
      const file = join(root, 'skip.json');
      await writeFile(file, JSON.stringify(experiment(voc, 'skip')));
      const results = join(root, 'results-skip');
      const r = spawnSync(process.execPath, [cli, 'run', file, '--backend', 'wasm', '--results', results], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const missing = `${jpeg(voc, id)}: image file not found; restore it, or remove it from the dataset's listing`;
      const wrongSize = `${png}: label map is 32x32 but its image ${jpeg(voc, segIds[0])} is 64x64; label maps must match their image pixel for pixel`;
      const metrics = async (stage: string) => {
        const [dir] = await readdir(join(results, 'bad', stage));
        return JSON.parse(await readFile(join(results, 'bad', stage, dir, 'metrics.json'), 'utf8'));
      };
      assert.deepEqual((await metrics('pretext')).skippedSamples, [missing]);
      assert.deepEqual((await metrics('segmentation')).skippedSamples, [wrongSize]);
      assert.ok(r.stderr.trimEnd().endsWith(`experiment bad: 2 bad sample(s) skipped (onBadSample "skip"; listed per job in metrics.json):\n  ${missing}\n  ${wrongSize}`), r.stderr);
    });
  });
});
