import assert from 'node:assert/strict';
import { describe, it } from 'mocha';
import { BOX_TARGET_STDS, decodeBox, encodeBoxTarget } from '../../src/downstream/detection.js';
import { Rng } from '../../src/engine/random.js';
import type { Box } from '../../src/metrics/detection.js';

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
