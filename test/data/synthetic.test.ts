import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { UserError } from '../../src/errors.js';
import { imageSize, loadImage } from '../../src/data/image.js';
import { readLabelPng } from '../../src/data/palette.js';
import { isOutdatedSynthesis, writeSyntheticVoc } from '../../src/data/synthetic.js';
import { VOC_CLASSES, VocDataset } from '../../src/data/voc.js';

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

describe('data/synthetic', () => {
  const size = 64;
  const images = 24;
  const classCount = 5;
  let parent: string;
  let root: string;
  let ds: VocDataset;
  before(async () => {
    parent = await mkdtemp(join(tmpdir(), 'synth-'));
    root = join(parent, 'VOC2007');
    await writeSyntheticVoc({ out: root, images, size, seed: 11, classes: classCount });
    ds = await VocDataset.open(root);
  });
  after(async () => {
    await rm(parent, { recursive: true, force: true });
  });

  it('writes the VOC layout with VOC-style ids and about half the images in test', async () => {
    for (const d of ['JPEGImages', 'Annotations', 'ImageSets/Main', 'ImageSets/Segmentation', 'SegmentationClass', 'SegmentationObject']) {
      assert.ok(existsSync(join(root, d)), d);
    }
    assert.deepEqual(ds.classes, VOC_CLASSES.slice(0, classCount));
    assert.ok(ds.hasSegmentation());
    const train = await ds.ids('train');
    const val = await ds.ids('val');
    const trainval = await ds.ids('trainval');
    const test = await ds.ids('test');
    assert.equal(test.length, images / 2);
    assert.equal(train.length + val.length, images / 2);
    assert.deepEqual(trainval, [...train, ...val].sort());
    const all = [...trainval, ...test].sort();
    assert.deepEqual(all, Array.from({ length: images }, (_, i) => String(i + 1).padStart(6, '0')));
    assert.equal((await readdir(join(root, 'JPEGImages'))).length, images);
  });

  it('has a JPEG and XML for every id in every split file, and consistent class files', async () => {
    for (const split of ['train', 'val', 'trainval', 'test']) {
      for (const id of await ds.ids(split)) {
        assert.deepEqual(await imageSize(ds.imagePath(id)), { width: size, height: size });
        const ann = await ds.annotation(id);
        assert.equal(ann.width, size);
        assert.ok(ann.objects.length >= 1 && ann.objects.length <= 3, `${id}: ${ann.objects.length} objects`);
        for (const o of ann.objects) {
          assert.ok(ds.classes.includes(o.name), o.name);
          const [x1, y1, x2, y2] = o.box;
          assert.ok(x1 >= 1 && y1 >= 1 && x2 <= size && y2 <= size && x1 <= x2 && y1 <= y2, `${id}: box ${o.box}`);
        }
      }
      for (const cls of ds.classes) {
        const labels = await ds.classLabels(cls, split);
        assert.deepEqual([...labels.keys()], await ds.ids(split));
        for (const [id, label] of labels) {
          const mine = (await ds.annotation(id)).objects.filter((o) => o.name === cls);
          const expected = mine.some((o) => !o.difficult) ? 1 : mine.length > 0 ? 0 : -1;
          assert.equal(label, expected, `${cls}_${split}: ${id}`);
        }
      }
    }
    const text = await readFile(join(root, 'ImageSets', 'Main', 'aeroplane_test.txt'), 'utf8');
    assert.match(text.split('\n')[0], /^\d{6} ( 1|-1| 0)$/);
  });

  it('writes indexed segmentations whose labels agree with the annotations', async () => {
    const segIds = await ds.ids('trainval', 'Segmentation');
    const segTrain = await ds.ids('train', 'Segmentation');
    const segVal = await ds.ids('val', 'Segmentation');
    assert.ok(segTrain.length > 0 && segVal.length > 0);
    assert.deepEqual(segIds, [...segTrain, ...segVal].sort());
    const trainval = new Set(await ds.ids('trainval'));
    assert.ok(segIds.length < trainval.size, 'a subset is segmented');
    let voidPixels = 0;
    for (const id of segIds) {
      assert.ok(trainval.has(id));
      const png = await readFile(join(root, 'SegmentationClass', `${id}.png`));
      assert.equal(png[25], 3, 'colour type 3');
      assert.ok(existsSync(join(root, 'SegmentationObject', `${id}.png`)));
      const xml = await readFile(join(root, 'Annotations', `${id}.xml`), 'utf8');
      assert.match(xml, /<segmented>1<\/segmented>/);
      const ann = await ds.annotation(id);
      const seg = await ds.segmentation(id);
      assert.equal(seg.labels.length, size * size);
      for (let i = 0; i < seg.labels.length; i++) {
        const label = seg.labels[i];
        if (label === 255) {
          voidPixels++;
          continue;
        }
        assert.ok(label <= classCount, `${id}: label ${label}`);
        if (label === 0) continue;
        const x = (i % size) + 1;
        const y = Math.floor(i / size) + 1;
        const inBox = ann.objects.some(
          (o) => o.name === ds.classes[label - 1] && !o.difficult && x >= o.box[0] && x <= o.box[2] && y >= o.box[1] && y <= o.box[3],
        );
        assert.ok(inBox, `${id}: pixel ${x},${y} labelled ${label} outside every ${ds.classes[label - 1]} box`);
      }
    }
    assert.ok(voidPixels > 0, 'object borders are void');
  });

  it('numbers instances in XML order in SegmentationObject', async () => {
    for (const id of await ds.ids('trainval', 'Segmentation')) {
      const objects = (await ds.annotation(id)).objects;
      const inst = await readLabelPng(join(root, 'SegmentationObject', `${id}.png`));
      const cls = await ds.segmentation(id);
      for (let i = 0; i < inst.labels.length; i++) {
        const k = inst.labels[i];
        if (k === 0 || k === 255) {
          assert.equal(cls.labels[i], k);
          continue;
        }
        assert.ok(k <= objects.length, `${id}: instance ${k} of ${objects.length}`);
        assert.equal(ds.classes[cls.labels[i] - 1], objects[k - 1].name);
      }
    }
  });

  it('marks small objects difficult and border-cut objects truncated', async () => {
    const objects = [];
    for (const id of await ds.ids('trainval')) objects.push(...(await ds.annotation(id)).objects);
    for (const id of await ds.ids('test')) objects.push(...(await ds.annotation(id)).objects);
    assert.ok(objects.some((o) => o.difficult));
    assert.ok(objects.some((o) => o.truncated));
    for (const o of objects) {
      const touches = o.box[0] === 1 || o.box[1] === 1 || o.box[2] === size || o.box[3] === size;
      if (o.truncated) assert.ok(touches, `truncated box ${o.box} touches the border`);
      if (o.difficult) assert.ok(Math.max(o.box[2] - o.box[0], o.box[3] - o.box[1]) + 1 <= 0.2 * size, `difficult box ${o.box} is small`);
    }
  });

  it('reads back through image.ts in range', async () => {
    const img = await loadImage(ds.imagePath('000001'), { size: 32 });
    assert.equal(img.data.length, 32 * 32 * 3);
    assert.ok(img.data.every((v) => v >= -1 && v <= 1));
  });

  it('is byte-identical for the same seed and differs for another', async () => {
    const again = join(parent, 'again', 'VOC2007');
    const other = join(parent, 'other', 'VOC2007');
    await writeSyntheticVoc({ out: again, images, size, seed: 11, classes: classCount });
    await writeSyntheticVoc({ out: other, images, size, seed: 12, classes: classCount });
    const files = await listFiles(root);
    assert.deepEqual(await listFiles(again), files);
    for (const f of files) {
      assert.ok((await readFile(join(root, f))).equals(await readFile(join(again, f))), f);
    }
    assert.ok(!(await readFile(join(root, 'JPEGImages', '000001.jpg'))).equals(await readFile(join(other, 'JPEGImages', '000001.jpg'))));
  });

  it('replaces its own output but refuses a foreign folder', async () => {
    const own = join(parent, 'own');
    await writeSyntheticVoc({ out: own, images: 4, size: 32, seed: 1, classes: 2 });
    await writeSyntheticVoc({ out: own, images: 6, size: 32, seed: 1, classes: 2 });
    assert.equal((await readdir(join(own, 'JPEGImages'))).length, 6);
    const foreign = join(parent, 'foreign');
    await mkdir(foreign);
    await writeFile(join(foreign, 'keep.txt'), 'mine');
    await assert.rejects(
      writeSyntheticVoc({ out: foreign, images: 4, size: 32, seed: 1 }),
      (err: unknown) => err instanceof UserError && /refusing/.test(err.message),
    );
    assert.equal(await readFile(join(foreign, 'keep.txt'), 'utf8'), 'mine');
    await assert.rejects(writeSyntheticVoc({ out: join(parent, 'x'), images: 2, size: 32, seed: 1 }), UserError);
    await assert.rejects(writeSyntheticVoc({ out: join(parent, 'x'), images: 4, size: 32, seed: 1, classes: 21 }), UserError);
  });

  it('makes VOC-like sides by default: longer side maxSide, landscape and portrait, labels and boxes in each image\'s own size', async () => {
    const out = join(parent, 'sides');
    await writeSyntheticVoc({ out, images: 16, minSide: 60, maxSide: 100, seed: 5, classes: 3 });
    const voc = await VocDataset.open(out);
    const ids = [...(await voc.ids('trainval')), ...(await voc.ids('test'))];
    const shapes = await Promise.all(ids.map((id) => imageSize(voc.imagePath(id))));
    for (const [i, { width, height }] of shapes.entries()) {
      assert.equal(Math.max(width, height), 100, ids[i]);
      assert.ok(Math.min(width, height) >= 60, `${ids[i]}: ${width}x${height}`);
      const ann = await voc.annotation(ids[i]);
      assert.deepEqual([ann.width, ann.height], [width, height]);
      for (const o of ann.objects) assert.ok(o.box[2] <= width && o.box[3] <= height, `${ids[i]}: box ${o.box} in ${width}x${height}`);
    }
    assert.ok(shapes.some((s) => s.width > s.height) && shapes.some((s) => s.height > s.width), 'both orientations');
    for (const id of await voc.ids('train', 'Segmentation')) {
      const seg = await voc.segmentation(id);
      const { width, height } = await imageSize(voc.imagePath(id));
      assert.deepEqual([seg.width, seg.height], [width, height]);
    }
    await assert.rejects(writeSyntheticVoc({ out: join(parent, 'y'), images: 4, size: 64, minSide: 40, seed: 1 }), UserError);
    await assert.rejects(writeSyntheticVoc({ out: join(parent, 'y'), images: 4, minSide: 90, maxSide: 80, seed: 1 }), UserError);
  });

  it('knows when a folder holds its output for other settings (so a run writes it again), never for a folder it did not write', async () => {
    assert.equal(await isOutdatedSynthesis(root, { images, size, seed: 11, classes: classCount }), false);
    assert.equal(await isOutdatedSynthesis(root, { images, size, seed: 12, classes: classCount }), true);
    assert.equal(await isOutdatedSynthesis(root, { images, minSide: 48, maxSide: 64, seed: 11, classes: classCount }), true);
    const foreign = join(parent, 'user-data');
    await mkdir(foreign, { recursive: true });
    assert.equal(await isOutdatedSynthesis(foreign, { images, size, seed: 11 }), false);
  });
});
