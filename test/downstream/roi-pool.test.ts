import assert from 'node:assert/strict';
import { before, describe, it } from 'mocha';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/engine/backend.js';
import { Rng } from '../../src/engine/random.js';
import { groupIdenticalRois, planRoiPool, roiPool, type Roi } from '../../src/downstream/roi-pool.js';

/** 4x4 single-channel map with value h*4 + w. */
function ramp(): tf.Tensor4D {
  return tf.tensor4d(Array.from({ length: 16 }, (_, i) => i), [1, 4, 4, 1]);
}

function pooledValues(features: tf.Tensor4D, rois: Roi[], pooledSize: number, spatialScale: number): number[] {
  const out = roiPool(features, rois, { pooledSize, spatialScale });
  // + 0 turns a max of -0 (the negated ramp's -0) into 0 for deepEqual.
  const values = Array.from(out.dataSync(), (v) => v + 0);
  out.dispose();
  return values;
}

describe('roiPool (Caffe ROIPooling quantisation)', () => {
  before(async () => {
    await initBackend('wasm');
  });

  it('pools hand-computed 2x2 bins on a 4x4 ramp', () => {
    const x = ramp();
    // [0,0,3,3]: 4 cells wide, bins of 2 -> maxima at (1,1)=5, (1,3)=7, (3,1)=13, (3,3)=15.
    assert.deepEqual(pooledValues(x, [{ batch: 0, box: [0, 0, 3, 3] }], 2, 1), [5, 7, 13, 15]);
    // [0,0,2,2]: 3 wide, bins of 1.5 span floor..ceil: rows/cols {0,1} and {1,2}, overlapping.
    assert.deepEqual(pooledValues(x, [{ batch: 0, box: [0, 0, 2, 2] }], 2, 1), [5, 6, 9, 10]);
    // [1,1,2,2]: one cell per bin.
    assert.deepEqual(pooledValues(x, [{ batch: 0, box: [1, 1, 2, 2] }], 2, 1), [5, 6, 9, 10]);
    x.dispose();
  });

  it('rounds scaled corners half away from zero and clips bins, empty bins give 0', () => {
    const x = ramp();
    // scale 0.5: [1,1,5,5] -> round(0.5)=1 .. round(2.5)=3: cells 1..3 -> max (3,3) = 15.
    assert.deepEqual(pooledValues(x, [{ batch: 0, box: [1, 1, 5, 5] }], 1, 0.5), [15]);
    // scale 0.5: [1,1,4,4] -> 1 .. 2 -> max (2,2) = 10.
    assert.deepEqual(pooledValues(x, [{ batch: 0, box: [1, 1, 4, 4] }], 1, 0.5), [10]);
    // [3,3,6,6]: bins of 2 from 3; only cell (3,3) is on the map, the other bins are empty.
    assert.deepEqual(pooledValues(x, [{ batch: 0, box: [3, 3, 6, 6] }], 2, 1), [15, 0, 0, 0]);
    x.dispose();
  });

  it('plans each bin as clipped half-open cell ranges', () => {
    const plan = planRoiPool([{ batch: 0, box: [0, 0, 2, 2] }, { batch: 1, box: [3, 3, 6, 6] }], [2, 4, 4], { pooledSize: 2, spatialScale: 1 });
    // Per bin: batch, h0, h1, w0, w1. Roi 0: 1.5-cell bins -> [0,2) and [1,3). Roi 1: [3,5) and [5,7) clipped to 4.
    assert.deepEqual(Array.from(plan.bins), [
      0, 0, 2, 0, 2, 0, 0, 2, 1, 3, 0, 1, 3, 0, 2, 0, 1, 3, 1, 3,
      1, 3, 4, 3, 4, 1, 3, 4, 4, 4, 1, 4, 4, 3, 4, 1, 4, 4, 4, 4,
    ]);
    assert.throws(() => planRoiPool([{ batch: 2, box: [0, 0, 1, 1] }], [2, 4, 4], { spatialScale: 1 }), RangeError);
  });

  it('reads the roi batch index and every channel', () => {
    const a = Array.from({ length: 16 }, (_, i) => [i, -i]).flat();
    const b = Array.from({ length: 16 }, (_, i) => [100 + i, 50 - i]).flat();
    const x = tf.tensor4d([...a, ...b], [2, 4, 4, 2]);
    const rois: Roi[] = [{ batch: 1, box: [0, 0, 1, 1] }, { batch: 0, box: [2, 2, 3, 3] }];
    // roi 0 on image 1, one bin: channel 0 max 100+5, channel 1 max 50-0; roi 1 on image 0: 15, -10.
    assert.deepEqual(pooledValues(x, rois, 1, 1), [105, 50, 15, -10]);
    const hw = tf.tensor3d(a, [4, 4, 2]);
    assert.deepEqual(pooledValues(hw as unknown as tf.Tensor4D, [{ batch: 0, box: [0, 0, 3, 3] }], 1, 1), [15, 0]);
    tf.dispose([x, hw]);
  });

  it('gradient matches central differences', () => {
    const rng = new Rng(7);
    const [n, h, w, c] = [2, 5, 5, 3];
    // Distinct values 0.1 apart: no ties, so the max is piecewise linear and differences are exact.
    const values = rng.shuffle(Array.from({ length: n * h * w * c }, (_, i) => i * 0.1));
    const rois: Roi[] = [
      { batch: 0, box: [0, 0, 4, 4] },
      { batch: 1, box: [1, 0, 3, 4] },
      { batch: 0, box: [2, 2, 2, 2] },
      { batch: 1, box: [3, 3, 7, 7] },
    ];
    const weights = tf.tensor4d(Array.from({ length: rois.length * 2 * 2 * c }, () => rng.uniform(-1, 1)), [rois.length, 2, 2, c]);
    const f = (x: tf.Tensor) => tf.sum(tf.mul(roiPool(x as tf.Tensor4D, rois, { pooledSize: 2, spatialScale: 1 }), weights));
    const x = tf.tensor4d(values, [n, h, w, c]);
    const before = tf.memory().numTensors;
    const grad = tf.grad(f)(x);
    const analytic = grad.dataSync();
    grad.dispose();
    assert.equal(tf.memory().numTensors, before, 'roiPool gradient leaks tensors');
    const eps = 0.02;
    for (let i = 0; i < values.length; i++) {
      const plus = values.slice();
      const minus = values.slice();
      plus[i] += eps;
      minus[i] -= eps;
      const numeric = tf.tidy(() => (f(tf.tensor4d(plus, [n, h, w, c])).dataSync()[0] - f(tf.tensor4d(minus, [n, h, w, c])).dataSync()[0]) / (2 * eps));
      assert.ok(Math.abs(numeric - analytic[i]) < 2e-3, `cell ${i}: numeric ${numeric}, analytic ${analytic[i]}`);
    }
    tf.dispose([x, weights]);
  });

  it('a cell shared by several bins gets each bin\'s gradient exactly once, empty bins none', () => {
    // [2,2,2,2] is one cell wide: all four bins of 0.5 cells map to cell (2,2). The zero-weighted wide
    // roi and the empty bins of the off-map roi must not leak gradient anywhere.
    const x = tf.tensor4d(Array.from({ length: 25 }, (_, i) => i + 1), [1, 5, 5, 1]);
    const rois: Roi[] = [
      { batch: 0, box: [2, 2, 2, 2] },
      { batch: 0, box: [0, 0, 0, 0] },
      { batch: 0, box: [0, 0, 4, 4] },
      { batch: 0, box: [4, 4, 9, 9] },
    ];
    const weights = tf.tensor4d([1, 2, 3, 4, 10, 20, 30, 40, 0, 0, 0, 0, 100, 200, 300, 400], [4, 2, 2, 1]);
    const grad = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(roiPool(t as tf.Tensor4D, rois, { pooledSize: 2, spatialScale: 1 }), weights)))(x);
    const g = Array.from(grad.dataSync());
    const expected = new Array(25).fill(0);
    expected[2 * 5 + 2] = 1 + 2 + 3 + 4;
    expected[0] = 10 + 20 + 30 + 40;
    // [4,4,9,9]: bins of 3 cells from 4; only the first bin has a cell on the map, (4,4).
    expected[4 * 5 + 4] = 100;
    assert.deepEqual(g, expected);
    tf.dispose([x, weights, grad]);
  });

  it('pools the same values under a gradient tape (which also records winners) as outside one; a tie sends the gradient to the first maximal cell', () => {
    const rng = new Rng(9);
    const [n, h, w, c] = [2, 7, 9, 3];
    // Values on a coarse grid, so bins hold ties.
    const x = tf.tensor4d(Array.from({ length: n * h * w * c }, () => Math.floor(rng.next() * 4)), [n, h, w, c]);
    const rois: Roi[] = Array.from({ length: 12 }, (_, i) => {
      const x1 = Math.floor(rng.next() * 12);
      const y1 = Math.floor(rng.next() * 10);
      return { batch: i % n, box: [x1, y1, x1 + Math.floor(rng.next() * 14), y1 + Math.floor(rng.next() * 12)] };
    });
    const options = { pooledSize: 3, spatialScale: 0.5 };
    const untaped = roiPool(x, rois, options);
    let taped: Float32Array = new Float32Array(0);
    const grad = tf.grad((t: tf.Tensor) => {
      const out = roiPool(t as tf.Tensor4D, rois, options);
      taped = out.dataSync() as Float32Array;
      return tf.sum(out);
    })(x);
    assert.deepEqual(taped, untaped.dataSync());
    // A 2x2 map with every value equal: the one bin's gradient goes to cell (0,0) only.
    const flat = tf.tensor4d([5, 5, 5, 5], [1, 2, 2, 1]);
    const g = tf.grad((t: tf.Tensor) => tf.sum(roiPool(t as tf.Tensor4D, [{ batch: 0, box: [0, 0, 1, 1] }], { pooledSize: 1, spatialScale: 1 })))(flat);
    assert.deepEqual(Array.from(g.dataSync()), [1, 0, 0, 0]);
    tf.dispose([x, untaped, grad, flat, g]);
  });

  it('groups RoIs exactly when every bin pools the same cells', () => {
    // 4x4 map, scale 1, 2x2 bins: corners 3.4 round to 3, so the third RoI pools as the first two.
    const hand = groupIdenticalRois(
      [
        { batch: 0, box: [0, 0, 3, 3] },
        { batch: 0, box: [0, 0, 3, 3] },
        { batch: 0, box: [0, 0, 3.4, 3.4] },
        { batch: 0, box: [0, 0, 1, 1] },
        { batch: 1, box: [0, 0, 3, 3] },
      ],
      [2, 4, 4],
      { pooledSize: 2, spatialScale: 1 },
    );
    assert.deepEqual(hand.representatives, [0, 3, 4]);
    assert.deepEqual(Array.from(hand.groupOf), [0, 0, 0, 1, 2]);

    // Random RoIs on a 6x6 map at 1/16: members pool exactly their representative's values, groups differ in their bins.
    const rng = new Rng(4);
    const x = tf.tensor4d(Array.from({ length: 6 * 6 * 5 }, () => rng.next()), [1, 6, 6, 5]);
    const rois: Roi[] = Array.from({ length: 300 }, () => {
      const x1 = Math.floor(rng.next() * 90);
      const y1 = Math.floor(rng.next() * 90);
      return { batch: 0, box: [x1, y1, x1 + Math.floor(rng.next() * 40), y1 + Math.floor(rng.next() * 40)] };
    });
    const options = { pooledSize: 6, spatialScale: 1 / 16 };
    const { representatives, groupOf } = groupIdenticalRois(rois, [1, 6, 6], options);
    assert.ok(representatives.length > 1 && representatives.length < rois.length, `${representatives.length} groups of ${rois.length}`);
    const pooled = pooledValues(x, rois, 6, 1 / 16);
    const row = (r: number) => pooled.slice(r * 180, (r + 1) * 180);
    rois.forEach((_, r) => assert.deepEqual(row(r), row(representatives[groupOf[r]]), `roi ${r}`));
    const plan = planRoiPool(rois, [1, 6, 6], options);
    const bins = new Set(representatives.map((r) => plan.bins.subarray(r * 180, (r + 1) * 180).join(',')));
    assert.equal(bins.size, representatives.length);
    x.dispose();
  });
});
