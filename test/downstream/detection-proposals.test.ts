import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'mocha';
import { writeSyntheticVoc } from '../../src/data/synthetic.js';
import { VocDataset } from '../../src/data/voc.js';
import { jitterBoxes, loadProposalFile, proposalsForIds, sampleRois, slidingWindows, type GroundTruth } from '../../src/downstream/proposals.js';
import { Rng } from '../../src/engine/random.js';
import { UserError } from '../../src/errors.js';
import { boxIoU, type Box } from '../../src/metrics/detection.js';

function inside(box: Box, size: number): boolean {
  return box[0] >= 0 && box[1] >= 0 && box[2] <= size - 1 && box[3] <= size - 1 && box[0] <= box[2] && box[1] <= box[3];
}

describe('detection proposals', () => {
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'det-proposals-'));
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  describe('proposal files', () => {
    it('reads { id: [[x1, y1, x2, y2], ...] }', async () => {
      const path = join(dir, 'ok.json');
      await writeFile(path, JSON.stringify({ a: [[1, 2, 30, 40], [5, 5, 5, 5]], b: [] }));
      const boxes = await loadProposalFile(path);
      assert.deepEqual([...boxes.keys()], ['a', 'b']);
      assert.deepEqual(boxes.get('a'), [[1, 2, 30, 40], [5, 5, 5, 5]]);
      assert.deepEqual(proposalsForIds(path, boxes, ['b', 'a']), [[], [[1, 2, 30, 40], [5, 5, 5, 5]]]);
    });

    it('rejects bad files and missing ids with a UserError naming the file', async () => {
      const cases: [string, string, RegExp][] = [
        ['notjson.json', '{ "a": [', /not valid JSON/],
        ['array.json', '[[1, 2, 3, 4]]', /expected a JSON object/],
        ['list.json', '{ "a": 3 }', /"a" must be an array/],
        ['short.json', '{ "a": [[1, 2, 3, 4], [1, 2, 3]] }', /"a"\[1\] is not a box/],
        ['inverted.json', '{ "a": [[10, 2, 3, 4]] }', /"a"\[0\] is not a box/],
        ['string.json', '{ "a": [[1, "2", 3, 4]] }', /"a"\[0\] is not a box/],
      ];
      for (const [name, text, pattern] of cases) {
        const path = join(dir, name);
        await writeFile(path, text);
        await assert.rejects(loadProposalFile(path), (err: unknown) => err instanceof UserError && err.message.startsWith(path) && pattern.test(err.message), name);
      }
      await assert.rejects(loadProposalFile(join(dir, 'absent.json')), (err: unknown) => err instanceof UserError && /absent\.json: cannot read/.test(err.message));
      const boxes = await loadProposalFile(join(dir, 'ok.json'));
      assert.throws(() => proposalsForIds('p.json', boxes, ['a', 'zz', 'yy']), (err: unknown) => err instanceof UserError && /^p\.json: no proposals for image zz, yy/.test(err.message));
    });
  });

  describe('sliding windows', () => {
    it('stay inside the image, are distinct, and number about 2000 at any size', () => {
      for (const size of [99, 227, 400]) {
        const windows = slidingWindows(size);
        assert.ok(windows.length >= 1000 && windows.length <= 3000, `${size}: ${windows.length} windows`);
        assert.ok(windows.every((b) => inside(b, size)));
        assert.equal(new Set(windows.map((b) => b.join(','))).size, windows.length);
        assert.ok(windows.some((b) => b[0] === 0 && b[1] === 0 && b[2] === size - 1 && b[3] === size - 1), 'the whole image is a window');
      }
    });

    it('give nearly every object of a synthetic VOC set a window with IoU >= 0.5', async () => {
      const root = join(dir, 'voc');
      await writeSyntheticVoc({ out: root, images: 40, size: 96, seed: 5, classes: 3 });
      const voc = await VocDataset.open(root);
      const size = 99;
      const windows = slidingWindows(size);
      let total = 0;
      let covered = 0;
      for (const id of [...(await voc.ids('trainval')), ...(await voc.ids('test'))]) {
        const ann = await voc.annotation(id);
        const sx = size / ann.width;
        const sy = size / ann.height;
        for (const o of ann.objects) {
          const box: Box = [(o.box[0] - 1) * sx, (o.box[1] - 1) * sy, (o.box[2] - 1) * sx, (o.box[3] - 1) * sy];
          const best = Math.max(...windows.map((w) => boxIoU(w, box)));
          total += 1;
          if (best >= 0.5) covered += 1;
        }
      }
      assert.ok(total > 40, `${total} objects`);
      assert.ok(covered / total >= 0.95, `${covered} of ${total} objects covered`);
    });
  });

  describe('RoI sampling', () => {
    const truth: GroundTruth[] = [
      { box: [10, 10, 49, 49], label: 2 },
      { box: [60, 60, 89, 79], label: 1 },
    ];

    it('samples 25% foreground at IoU >= 0.5 and background at IoU in [0.1, 0.5)', () => {
      const rng = new Rng(3);
      const candidates = [...slidingWindows(99), ...jitterBoxes(truth.map((t) => t.box), 8, 99, rng)];
      const sample = sampleRois(candidates, truth, { roisPerImage: 64 }, rng);
      assert.equal(sample.boxes.length, 64);
      const fg = sample.labels.filter((l) => l > 0).length;
      assert.equal(fg, 16);
      sample.boxes.forEach((box, k) => {
        const ious = truth.map((t) => boxIoU(box, t.box));
        const best = Math.max(...ious);
        if (sample.labels[k] > 0) {
          assert.ok(best >= 0.5);
          assert.equal(sample.gtIndex[k], ious.indexOf(best));
          assert.equal(sample.labels[k], truth[sample.gtIndex[k]].label);
        } else {
          assert.ok(best >= 0.1 && best < 0.5, `background IoU ${best}`);
          assert.equal(sample.gtIndex[k], -1);
        }
      });
    });

    it('falls back to background below 0.1 and returns fewer RoIs when candidates run out', () => {
      const far: Box[] = [[0, 0, 4, 4], [95, 95, 98, 98]];
      const sample = sampleRois([...far, truth[0].box], truth, { roisPerImage: 64 }, new Rng(1));
      assert.deepEqual(sample.labels, [2, 0, 0]);
      assert.deepEqual(sample.boxes[0], truth[0].box);
    });

    it('jitters boxes near their source and inside the image', () => {
      const jittered = jitterBoxes(truth.map((t) => t.box), 50, 99, new Rng(9));
      assert.equal(jittered.length, 100);
      assert.ok(jittered.every((b) => inside(b, 99)));
      const ious = jittered.slice(0, 50).map((b) => boxIoU(b, truth[0].box));
      assert.ok(Math.min(...ious) > 0.2);
      assert.ok(ious.filter((v) => v >= 0.5).length >= 25, 'most jitters are foreground');
    });
  });
});
