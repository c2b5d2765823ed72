import assert from 'node:assert/strict';
import { describe, it } from 'mocha';
import { BOX_TARGET_STDS, decodeBox, encodeBoxTarget, imageDetections, spatialScale, vocToNet } from '../../src/downstream/detection.js';
import { nms } from '../../src/downstream/nms.js';
import { slidingWindows } from '../../src/downstream/proposals.js';
import { Rng } from '../../src/engine/random.js';
import { boxIoU, detectionAP, type Box } from '../../src/metrics/detection.js';

function close(actual: number, expected: number, tol = 1e-9): void {
  assert.ok(Math.abs(actual - expected) <= tol, `expected ${expected}, got ${actual}`);
}

describe('Fast R-CNN box regression targets', () => {
  it('encodes centre shifts over the RoI size and log size ratios, divided by the stds', () => {
    // roi 10 x 10 centred at 5; gt 10 x 20 with top-left (5, 0): centre (10, 10).
    const t = encodeBoxTarget([0, 0, 9, 9], [5, 0, 14, 19]);
    close(t[0], 0.5 / BOX_TARGET_STDS[0]);
    close(t[1], 0.5 / BOX_TARGET_STDS[1]);
    close(t[2], 0);
    close(t[3], Math.log(2) / BOX_TARGET_STDS[3]);
    assert.deepEqual(encodeBoxTarget([3, 4, 20, 30], [3, 4, 20, 30]).map((v) => v + 0), [0, 0, 0, 0]);
  });

  it('decode inverts encode exactly (inclusive corners)', () => {
    const rng = new Rng(11);
    // Sides 5..151 px: size ratios stay under the 1000/16 cap.
    for (let i = 0; i < 200; i++) {
      const roi: Box = [rng.uniform(0, 100), rng.uniform(0, 100), 0, 0];
      roi[2] = roi[0] + rng.uniform(4, 150);
      roi[3] = roi[1] + rng.uniform(4, 150);
      const gt: Box = [rng.uniform(0, 100), rng.uniform(0, 100), 0, 0];
      gt[2] = gt[0] + rng.uniform(4, 150);
      gt[3] = gt[1] + rng.uniform(4, 150);
      const back = decodeBox(roi, encodeBoxTarget(roi, gt));
      back.forEach((v, k) => close(v, gt[k], 1e-6));
    }
    // Deltas read at an offset, as from a row of 4 * classes values.
    const deltas = [9, 9, 9, 9, ...encodeBoxTarget([0, 0, 9, 9], [2, 2, 5, 7])];
    assert.deepEqual(decodeBox([0, 0, 9, 9], deltas, 4).map((v) => Math.round(v * 1e6) / 1e6), [2, 2, 5, 7]);
  });

  it('caps the predicted scale so huge deltas stay finite', () => {
    const box = decodeBox([0, 0, 9, 9], [0, 0, 1e4, 1e4]);
    assert.ok(box.every(Number.isFinite));
    close(box[2] - box[0] + 1, 10 * (1000 / 16), 1e-6);
  });
});

describe('detection post-processing', () => {
  // A 200 x 100 image seen at 99 x 99; VOC boxes are 1-based inclusive.
  const original = { width: 200, height: 100 };
  const size = 99;
  const truth: Box[] = [
    [20, 10, 80, 60],
    [120, 30, 190, 95],
  ];

  it('maps perfectly scored proposals back to the annotated boxes (AP 1 per class)', () => {
    const rng = new Rng(2);
    const windows = slidingWindows(size);
    // Proposal 0 is object 0's box; proposal 1 is object 1's box shifted, with the delta that undoes the shift.
    const gt1 = vocToNet(truth[1], size / 200, size / 100);
    const shifted: Box = [gt1[0] + 3, gt1[1] - 2, gt1[2] + 5, gt1[3] + 1];
    const proposals: Box[] = [vocToNet(truth[0], size / 200, size / 100), shifted, ...windows];
    const classes = 2;
    const probs = new Float32Array(proposals.length * 3);
    const deltas = new Float32Array(proposals.length * 8);
    proposals.forEach((_, i) => {
      // Everything else: mostly background, a little of each class, so NMS and the per-image cut have work.
      const p = i < 2 ? [0.1, i === 0 ? 0.9 : 0, i === 1 ? 0.9 : 0] : [0.8, 0.1 * rng.next(), 0.1 * rng.next()];
      probs.set([p[0], p[1], p[2]], i * 3);
    });
    deltas.set(encodeBoxTarget(shifted, gt1), 1 * 8 + 1 * 4);
    const found = imageDetections(proposals, probs, deltas, classes, size, original);
    assert.ok(found.length <= 100 && found.length > 50, `${found.length} detections`);
    for (let c = 0; c < classes; c++) {
      const mine = found.filter((d) => d.cls === c);
      close(mine[0].score, 0.9, 1e-6);
      mine[0].box.forEach((v, k) => close(v, truth[c][k], 1e-4));
      assert.ok(mine.every((d) => d.box[0] >= 1 && d.box[1] >= 1 && d.box[2] <= 200 && d.box[3] <= 100));
      assert.equal(nms(mine.map((d) => d.box), mine.map((d) => d.score), 0.3).length, mine.length, 'kept boxes overlap by more than 0.3');
      const ap = detectionAP(
        mine.map((d) => ({ image: 'a', score: d.score, box: d.box })),
        [{ image: 'a', box: truth[c] }],
      );
      close(ap, 1, 1e-12);
    }
    // The other class's box is no detection of this class.
    assert.ok(boxIoU(found.filter((d) => d.cls === 0)[0].box, truth[1]) === 0);
  });

  it('maps the first and last pixel onto the first and last conv5 cell', () => {
    close(spatialScale(227, 13) * 226, 12);
    close(spatialScale(99, 5) * 98, 4);
    assert.equal(spatialScale(67, 1), 0);
  });
});
