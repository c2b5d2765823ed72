import assert from 'node:assert/strict';
import { describe, it } from 'mocha';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../../src/errors.js';
import { CIFAR10_RECORD_BYTES, readCifar10Classes, readCifar10Split } from '../../src/data/cifar10-binary.js';
import { openDataset } from '../../src/data/formats/index.js';
import { loadImageBank } from '../../src/data/batches.js';

const CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

/** One record as the official files store it: label byte, then the R, G and B planes. */
function record(label: number, pixel: (y: number, x: number, c: number) => number): Buffer {
  const out = Buffer.alloc(CIFAR10_RECORD_BYTES);
  out[0] = label;
  for (let c = 0; c < 3; c++) for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) out[1 + c * 1024 + y * 32 + x] = pixel(y, x, c);
  return out;
}

function writeRelease(records: Record<string, Buffer[]>, meta = CLASSES.join('\n') + '\n\n'): string {
  const root = mkdtempSync(join(tmpdir(), 'cifar10-bin-'));
  writeFileSync(join(root, 'batches.meta.txt'), meta);
  for (let b = 1; b <= 5; b++) writeFileSync(join(root, `data_batch_${b}.bin`), Buffer.concat(records[`data_batch_${b}`] ?? [record(0, () => 0)]));
  writeFileSync(join(root, 'test_batch.bin'), Buffer.concat(records.test_batch ?? [record(0, () => 0)]));
  return root;
}

describe('CIFAR-10 binary release', () => {
  it('reads class names, labels and planar RGB as interleaved HWC', async () => {
    const pattern = (y: number, x: number, c: number) => (y * 7 + x * 3 + c * 100) % 256;
    const root = writeRelease({ data_batch_2: [record(3, pattern), record(9, () => 200)], test_batch: [record(7, () => 1)] });
    assert.deepEqual(await readCifar10Classes(root), CLASSES);
    const train = await readCifar10Split(root, 'train', 10);
    // batch 1 (one record), batch 2 (two), batches 3-5 (one each)
    assert.equal(train.length, 6);
    assert.deepEqual(train.map((r) => r.label), [0, 3, 9, 0, 0, 0]);
    assert.equal(train[1].source, join(root, 'data_batch_2.bin') + '#0');
    // pixel (y=5, x=11): R = 5*7+11*3 = 68, G = 168, B = 268 % 256 = 12
    const at = (5 * 32 + 11) * 3;
    assert.deepEqual([...train[1].rgb.subarray(at, at + 3)], [68, 168, 12]);
    assert.ok(train[2].rgb.every((v) => v === 200));
    const test = await readCifar10Split(root, 'test', 10);
    assert.deepEqual(test.map((r) => r.label), [7]);
  });

  it('names the file and what to do when it is truncated, missing, or has a label beyond the classes', async () => {
    const truncated = writeRelease({ data_batch_1: [record(0, () => 0).subarray(0, 3000)] });
    await assert.rejects(readCifar10Split(truncated, 'train', 10), (e: Error) => e instanceof UserError && /data_batch_1\.bin: 3000 bytes is not a whole number of 3073-byte/.test(e.message));
    const badLabel = writeRelease({ test_batch: [record(12, () => 0)] });
    await assert.rejects(readCifar10Split(badLabel, 'test', 10), /test_batch\.bin#0: label byte 12 but batches\.meta\.txt names 10 classes/);
    await assert.rejects(readCifar10Split('/nonexistent', 'test', 10), /test_batch\.bin: not found; download cifar-10-binary\.tar\.gz/);
    await assert.rejects(readCifar10Split(badLabel, 'val', 10), /split "val": the cifar10 format has the splits train and test/);
  });

  it('is the cifar10 dataset format: labelled samples whose pixels load like any image', async () => {
    const root = writeRelease({ test_batch: [record(4, (y, x, c) => (c === 0 ? 255 : 0)), record(2, () => 0)] });
    const ds = await openDataset({ format: 'cifar10', root });
    assert.deepEqual(ds.classes, CLASSES);
    const test = await ds.list('test');
    assert.deepEqual(test.map((s) => s.labels), [[4], [2]]);
    assert.equal(test[1].source, join(root, 'test_batch.bin') + '#1');
    // Pure red at 32 px: every pixel (1, -1, -1) in [-1, 1].
    const bank = await loadImageBank(test, 32);
    assert.deepEqual([...bank.images[0].subarray(0, 6)], [1, -1, -1, 1, -1, -1]);
    assert.ok(bank.images[1].every((v) => v === -1));
    await assert.rejects(openDataset({ format: 'cifar10', root: join(root, 'missing') }), /CIFAR-10 folder not found; download cifar-10-binary\.tar\.gz/);
  });
});
