import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { UserError } from '../../src/errors.js';
import { writePalettePng } from '../../src/data/palette.js';
import { VOC_CLASSES, VocDataset, orderClasses } from '../../src/data/voc.js';

// Shaped like VOC2007's 000005.xml (several objects, difficult and truncated flags).
const TWO_OBJECTS = `<annotation>
	<folder>VOC2007</folder>
	<filename>000005.jpg</filename>
	<source><database>The VOC2007 Database</database><annotation>PASCAL VOC2007</annotation><image>flickr</image><flickrid>325991873</flickrid></source>
	<owner><flickrid>archintent louisville</flickrid><name>?</name></owner>
	<size><width>500</width><height>375</height><depth>3</depth></size>
	<segmented>0</segmented>
	<object>
		<name>chair</name><pose>Rear</pose><truncated>0</truncated><difficult>0</difficult>
		<bndbox><xmin>263</xmin><ymin>211</ymin><xmax>324</xmax><ymax>339</ymax></bndbox>
	</object>
	<object>
		<name>chair</name><pose>Unspecified</pose><truncated>1</truncated><difficult>1</difficult>
		<bndbox><xmin>5</xmin><ymin>244</ymin><xmax>67</xmax><ymax>374</ymax></bndbox>
	</object>
</annotation>
`;

// One object (parsed as an element, not a list), VOC2012-style fractional box, no difficult tag.
const ONE_OBJECT = `<?xml version="1.0"?>
<annotation>
	<filename>000007.jpg</filename>
	<size><width>500</width><height>333</height><depth>3</depth></size>
	<object>
		<name>car</name><truncated>1</truncated>
		<bndbox><xmin>141</xmin><ymin>50</ymin><xmax>500.5</xmax><ymax>330</ymax></bndbox>
	</object>
</annotation>
`;

// Size recorded as 0 (as in a few VOC2012 files): the JPEG gives it.
const ZERO_SIZE = `<annotation><size><width>0</width><height>0</height></size></annotation>`;

describe('data/voc', () => {
  let root: string;
  let parent: string;
  before(async () => {
    parent = await mkdtemp(join(tmpdir(), 'voc-'));
    root = join(parent, 'VOC2007');
    for (const d of ['JPEGImages', 'Annotations', 'ImageSets/Main', 'ImageSets/Segmentation', 'SegmentationClass']) {
      await mkdir(join(root, d), { recursive: true });
    }
    await writeFile(join(root, 'Annotations', '000005.xml'), TWO_OBJECTS);
    await writeFile(join(root, 'Annotations', '000007.xml'), ONE_OBJECT);
    await writeFile(join(root, 'Annotations', '000009.xml'), ZERO_SIZE);
    await sharp({ create: { width: 6, height: 4, channels: 3, background: '#808080' } })
      .jpeg()
      .toFile(join(root, 'JPEGImages', '000009.jpg'));
    await writeFile(join(root, 'ImageSets', 'Main', 'train.txt'), '000005\n000007\n000009\n');
    await writeFile(join(root, 'ImageSets', 'Main', 'chair_train.txt'), '000005  1\n000007 -1\n000009  0\n');
    await writeFile(join(root, 'ImageSets', 'Main', 'car_train.txt'), '000005 -1\r\n000007  1\r\n000009 -1\r\n');
    await writeFile(join(root, 'ImageSets', 'Main', 'car_val.txt'), '');
    await writeFile(join(root, 'ImageSets', 'Main', 'chair_val.txt'), '000005 2\n');
    await writeFile(join(root, 'ImageSets', 'Segmentation', 'train.txt'), '000005\n');
    // Labels index the dataset's own classes (car 1, chair 2); the label map matches its image's size.
    const labels = Uint8Array.from([0, 0, 2, 2, 255, 2, 1, 255]);
    await writePalettePng(join(root, 'SegmentationClass', '000005.png'), { width: 4, height: 2, labels });
    await sharp({ create: { width: 4, height: 2, channels: 3, background: '#808080' } })
      .jpeg()
      .toFile(join(root, 'JPEGImages', '000005.jpg'));
  });
  after(async () => {
    await rm(parent, { recursive: true, force: true });
  });

  it('lists the 20 classes in devkit order', () => {
    assert.equal(VOC_CLASSES.length, 20);
    assert.equal(VOC_CLASSES[0], 'aeroplane');
    assert.equal(VOC_CLASSES[14], 'person');
    assert.equal(VOC_CLASSES[19], 'tvmonitor');
    assert.deepEqual(orderClasses(['zebra', 'tvmonitor', 'aeroplane', 'yak', 'cat']), ['aeroplane', 'cat', 'tvmonitor', 'yak', 'zebra']);
  });

  it('finds classes from the per-class files, in devkit order', async () => {
    const ds = await VocDataset.open(root);
    assert.deepEqual(ds.classes, ['car', 'chair']);
    assert.equal(ds.hasSegmentation(), true);
    assert.equal(ds.imagePath('000005'), join(root, 'JPEGImages', '000005.jpg'));
  });

  it('parses objects with difficult and truncated flags', async () => {
    const ds = await VocDataset.open(root);
    const ann = await ds.annotation('000005');
    assert.deepEqual(ann, {
      id: '000005',
      width: 500,
      height: 375,
      objects: [
        { name: 'chair', box: [263, 211, 324, 339], difficult: false, truncated: false },
        { name: 'chair', box: [5, 244, 67, 374], difficult: true, truncated: true },
      ],
    });
  });

  it('parses a single-object file and a file without objects', async () => {
    const ds = await VocDataset.open(root);
    const one = await ds.annotation('000007');
    assert.deepEqual(one.objects, [{ name: 'car', box: [141, 50, 500.5, 330], difficult: false, truncated: true }]);
    const none = await ds.annotation('000009');
    assert.deepEqual(none, { id: '000009', width: 6, height: 4, objects: [] });
  });

  it('reads split ids and 1/-1/0 class labels', async () => {
    const ds = await VocDataset.open(root);
    assert.deepEqual(await ds.ids('train'), ['000005', '000007', '000009']);
    assert.deepEqual(await ds.ids('train', 'Segmentation'), ['000005']);
    const chair = await ds.classLabels('chair', 'train');
    assert.deepEqual([...chair.entries()], [['000005', 1], ['000007', -1], ['000009', 0]]);
    const car = await ds.classLabels('car', 'train');
    assert.deepEqual([...car.entries()], [['000005', -1], ['000007', 1], ['000009', -1]]);
    assert.equal((await ds.classLabels('car', 'val')).size, 0);
  });

  it('reads segmentation palette indices, 255 included', async () => {
    const ds = await VocDataset.open(root);
    const seg = await ds.segmentation('000005');
    assert.equal(seg.width, 4);
    assert.equal(seg.height, 2);
    assert.deepEqual([...seg.labels], [0, 0, 2, 2, 255, 2, 1, 255]);
  });

  it('explains a missing or wrong folder', async () => {
    const isUserError = (pattern: RegExp) => (err: unknown) => err instanceof UserError && pattern.test(err.message);
    await assert.rejects(VocDataset.open(join(parent, 'nowhere')), isUserError(/nowhere: folder not found.*VOC2007/));
    await assert.rejects(
      VocDataset.open(parent),
      isUserError(/not a PASCAL VOC folder \(did you mean .*VOC2007\?\).*JPEGImages\/, Annotations\/, ImageSets\/Main\//),
    );
  });

  it('names the file for missing splits, annotations and bad label lines', async () => {
    const ds = await VocDataset.open(root);
    await assert.rejects(ds.ids('test'), (err: unknown) => err instanceof UserError && /test\.txt.*available: train/.test(err.message));
    await assert.rejects(ds.annotation('000001'), (err: unknown) => err instanceof UserError && /000001\.xml/.test(err.message));
    await assert.rejects(ds.classLabels('chair', 'val'), (err: unknown) => err instanceof UserError && /chair_val\.txt:1/.test(err.message));
    await assert.rejects(ds.classLabels('dog', 'train'), (err: unknown) => err instanceof UserError && /dog_train\.txt/.test(err.message));
  });
});
