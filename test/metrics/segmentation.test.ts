import assert from 'node:assert/strict';
import { describe, it } from 'mocha';
import { confusionMatrix, meanIoU, pixelAccuracy } from '../../src/metrics/segmentation.js';

function close(actual: number, expected: number, tol = 1e-12): void {
  assert.ok(Math.abs(actual - expected) <= tol, `expected ${expected}, got ${actual}`);
}

describe('confusionMatrix', () => {
  it('counts rows = truth, cols = prediction, skipping 255 and truth >= numClasses', () => {
    const truth = Uint8Array.from([0, 0, 1, 1, 2, 255, 2, 7]);
    const pred = Uint8Array.from([0, 1, 1, 1, 2, 0, 0, 2]);
    assert.deepEqual(confusionMatrix(pred, truth, 3), [
      [1, 1, 0],
      [0, 2, 0],
      [1, 0, 1],
    ]);
  });

  it('honours a different ignore label', () => {
    // ignore = 0 drops background pixels; 255 is now out of range and skipped as well
    assert.deepEqual(confusionMatrix([1, 1, 0, 1], [0, 1, 1, 255], 2, 0), [
      [0, 0],
      [1, 1],
    ]);
  });

  it('throws on predictions outside [0, numClasses) and on length mismatch', () => {
    assert.throws(() => confusionMatrix([3], [0], 3), /prediction 3/);
    assert.throws(() => confusionMatrix([-1], [0], 3), /prediction -1/);
    assert.throws(() => confusionMatrix([0.5], [0], 3), /prediction 0.5/);
    assert.throws(() => confusionMatrix([9], [255], 3), /prediction 9/); // even where truth is ignored
    assert.throws(() => confusionMatrix([0, 1], [0], 3), RangeError);
    assert.throws(() => confusionMatrix([0], [0], 0), RangeError);
  });
});

describe('meanIoU', () => {
  it('IoU = TP / (TP + FP + FN) per class, averaged', () => {
    const { perClass, mean } = meanIoU([
      [1, 1, 0],
      [0, 2, 0],
      [1, 0, 1],
    ]);
    // class 0: 1 / (2 + 2 - 1); class 1: 2 / (2 + 3 - 2); class 2: 1 / (2 + 1 - 1)
    close(perClass[0], 1 / 3);
    close(perClass[1], 2 / 3);
    close(perClass[2], 1 / 2);
    close(mean, 0.5);
  });

  it('a class absent from truth and prediction is NaN and skipped; predicted-only counts as 0', () => {
    const { perClass, mean } = meanIoU([
      [1, 1, 0, 0],
      [0, 2, 0, 0],
      [1, 0, 1, 0],
      [0, 0, 0, 0],
    ]);
    assert.ok(Number.isNaN(perClass[3]));
    close(mean, 0.5);
    // class 2 only predicted (FP), never true: IoU 0, and it lowers the mean
    const fpOnly = meanIoU([
      [2, 1],
      [0, 0],
    ]);
    assert.deepEqual(fpOnly.perClass, [2 / 3, 0]);
    close(fpOnly.mean, 1 / 3);
    assert.ok(Number.isNaN(meanIoU([[0]]).mean));
  });

  it('rejects a non-square matrix', () => {
    assert.throws(() => meanIoU([[1, 2]]), RangeError);
  });
});

describe('pixelAccuracy', () => {
  it('is trace / total', () => {
    close(pixelAccuracy([[1, 1, 0], [0, 2, 0], [1, 0, 1]]), 4 / 6);
    assert.ok(Number.isNaN(pixelAccuracy([[0, 0], [0, 0]])));
  });
});
