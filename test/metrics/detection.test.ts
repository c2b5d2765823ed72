import assert from 'node:assert/strict';
import { describe, it } from 'mocha';
import { boxIoU, detectionAP, type Box, type Detection, type TruthBox } from '../../src/metrics/detection.js';

function close(actual: number, expected: number, tol = 1e-12): void {
  assert.ok(Math.abs(actual - expected) <= tol, `expected ${expected}, got ${actual}`);
}

const A: Box = [1, 1, 10, 10]; // 10 x 10 pixels inclusive
const B: Box = [21, 21, 30, 30];
const FAR: Box = [100, 100, 110, 110];

function det(image: string, score: number, box: Box): Detection {
  return { image, score, box };
}

describe('boxIoU', () => {
  it('counts pixels inclusively (+1)', () => {
    assert.equal(boxIoU(A, A), 1);
    // [1,1,10,5] is 10 x 5 = 50 pixels, all inside A: 50 / 100
    assert.equal(boxIoU(A, [1, 1, 10, 5]), 0.5);
    // boxes sharing one corner pixel: 1 / (100 + 121 - 1)
    assert.equal(boxIoU(A, [10, 10, 20, 20]), 1 / 220);
    assert.equal(boxIoU(A, [11, 1, 20, 10]), 0);
  });
});

describe('detectionAP', () => {
  it('duplicate detections of a matched box are false positives', () => {
    const truth: TruthBox[] = [{ image: 'a', box: A }, { image: 'a', box: B }];
    const dets = [det('a', 0.9, A), det('a', 0.8, A), det('a', 0.7, FAR), det('a', 0.6, B)];
    // TP, FP, FP, TP over 2 positives: P 1, 1/2, 1/3, 1/2; R 1/2, 1/2, 1/2, 1
    close(detectionAP(dets, truth), (6 * 1 + 5 * 0.5) / 11);
    close(detectionAP(dets, truth, { method: 'area' }), 0.5 * 1 + 0.5 * 0.5);
  });

  it('each detection takes its highest-IoU box, matched or not', () => {
    const tall: Box = [1, 1, 10, 20]; // 200 pixels
    const truth: TruthBox[] = [{ image: 'a', box: tall }, { image: 'a', box: A }];
    // d1 [1,1,10,12]: IoU with tall 120/200 = .6, with A 100/120 = .83 -> matches A (not the first box over .5)
    // d2 = A: IoU 1 with A (already matched), .5 with tall -> duplicate, FP
    const dets = [det('a', 0.9, [1, 1, 10, 12]), det('a', 0.8, A)];
    close(detectionAP(dets, truth, { method: 'area' }), 0.5);
    close(detectionAP(dets, truth), 6 / 11);
  });

  it('matches to difficult boxes count neither TP nor FP; difficult boxes are not in recall', () => {
    const D: Box = [50, 50, 60, 60];
    const truth: TruthBox[] = [{ image: 'a', box: A }, { image: 'a', box: D, difficult: true }];
    const dets = [det('a', 0.9, D), det('a', 0.8, D), det('a', 0.7, A)];
    // Only the hit on A counts, against 1 positive
    close(detectionAP(dets, truth), 1);
    close(detectionAP(dets, truth, { method: 'area' }), 1);
    // A miss (FP) still counts against it
    close(detectionAP([...dets, det('a', 0.95, FAR)], truth, { method: 'area' }), 0.5);
  });

  it('IoU exactly 0.5 (inclusive boxes) is a match; a higher threshold is not', () => {
    const truth: TruthBox[] = [{ image: 'a', box: A }];
    const half = [det('a', 0.9, [1, 1, 10, 5])]; // 50/100 with +1; 36/81 without
    close(detectionAP(half, truth), 1);
    close(detectionAP(half, truth, { iou: 0.51 }), 0);
  });

  it('scores rank across images and boxes match only within their image', () => {
    const truth: TruthBox[] = [{ image: 'a', box: A }, { image: 'b', box: A }];
    // listed out of score order on purpose
    const dets = [det('a', 0.6, A), det('b', 0.7, A), det('a', 0.9, A), det('c', 0.8, A)];
    // ranked: a .9 TP, c .8 FP (no truth in c), b .7 TP, a .6 duplicate FP
    // P 1, 1/2, 2/3, 1/2; R 1/2, 1/2, 1, 1
    close(detectionAP(dets, truth), (6 + 5 * (2 / 3)) / 11);
    close(detectionAP(dets, truth, { method: 'area' }), 5 / 6);
  });

  it('equal scores keep input order (stable, as the devkit)', () => {
    const truth: TruthBox[] = [{ image: 'a', box: A }];
    close(detectionAP([det('a', 0.5, A), det('a', 0.5, FAR)], truth), 1);
    close(detectionAP([det('a', 0.5, FAR), det('a', 0.5, A)], truth), 0.5);
  });

  it('missed boxes lower recall; no detections give 0', () => {
    const truth: TruthBox[] = [{ image: 'a', box: A }, { image: 'a', box: B }];
    close(detectionAP([det('a', 0.9, A)], truth, { method: 'area' }), 0.5);
    close(detectionAP([], truth), 0);
  });

  it('a class with no truth, or only difficult truth, is NaN', () => {
    const dets = [det('a', 0.9, A)];
    assert.ok(Number.isNaN(detectionAP(dets, [])));
    assert.ok(Number.isNaN(detectionAP(dets, [{ image: 'a', box: A, difficult: true }])));
    assert.ok(Number.isNaN(detectionAP([], [{ image: 'a', box: A, difficult: true }], { method: 'area' })));
  });

  it('rejects bad input', () => {
    const truth: TruthBox[] = [{ image: 'a', box: A }];
    assert.throws(() => detectionAP([det('a', NaN, A)], truth), /NaN score/);
    assert.throws(() => detectionAP([det('a', 1, [1, 1, NaN, 4])], truth), /finite/);
    assert.throws(() => detectionAP([], truth, { iou: 1.5 }), RangeError);
  });
});
