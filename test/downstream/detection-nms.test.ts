import assert from 'node:assert/strict';
import { describe, it } from 'mocha';
import { nms } from '../../src/downstream/nms.js';
import type { Box } from '../../src/metrics/detection.js';

describe('nms (greedy, inclusive boxes, suppress IoU > threshold)', () => {
  it('keeps the best box of each cluster, in score order', () => {
    const boxes: Box[] = [
      [0, 0, 9, 9], // .9
      [1, 1, 10, 10], // .8: IoU with box 0 = 81 / 119 = .68
      [20, 20, 29, 29], // .7: far away
      [0, 0, 9, 4], // .95: IoU with box 0 = 50 / 100 = .5, with box 1 = 36 / 114 = .316
    ];
    assert.deepEqual(nms(boxes, [0.9, 0.8, 0.7, 0.95], 0.3), [3, 2]);
    // At 0.6 box 0 survives box 3 (.5) but still takes box 1 (.68); box 1 vs box 3 is .316.
    assert.deepEqual(nms(boxes, [0.9, 0.8, 0.7, 0.95], 0.6), [3, 0, 2]);
  });

  it('an IoU equal to the threshold is kept (strict >), widths count pixels (+1)', () => {
    // 10 x 3 = 30 pixels inside a 10 x 10 box: IoU exactly 0.3.
    assert.deepEqual(nms([[0, 0, 9, 9], [0, 0, 9, 2]], [1, 0.5], 0.3), [0, 1]);
    // Neighbouring single pixels do not overlap; 2-pixel boxes sharing one pixel have IoU 1/3.
    assert.deepEqual(nms([[0, 0, 0, 0], [1, 0, 1, 0]], [1, 0.5], 0.3), [0, 1]);
    assert.deepEqual(nms([[0, 0, 1, 0], [1, 0, 2, 0]], [1, 0.5], 0.3), [0]);
  });

  it('keeps input order on equal scores and stops at maxKeep', () => {
    const boxes: Box[] = [[0, 0, 4, 4], [10, 0, 14, 4], [0, 0, 4, 4], [20, 0, 24, 4]];
    assert.deepEqual(nms(boxes, [0.5, 0.5, 0.5, 0.9], 0.3), [3, 0, 1]);
    assert.deepEqual(nms(boxes, [0.5, 0.5, 0.5, 0.9], 0.3, 2), [3, 0]);
    assert.deepEqual(nms([], [], 0.3), []);
    assert.throws(() => nms(boxes, [1], 0.3), RangeError);
  });
});
