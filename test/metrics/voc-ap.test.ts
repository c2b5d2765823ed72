import assert from 'node:assert/strict';
import { describe, it } from 'mocha';
import { averagePrecision, interpolatedAP, meanAP } from '../../src/metrics/voc-ap.js';

function close(actual: number, expected: number, tol = 1e-12): void {
  assert.ok(Math.abs(actual - expected) <= tol, `expected ${expected}, got ${actual}`);
}

describe('averagePrecision', () => {
  // Ranked: +, -, +, -, +  (3 positives)
  //   P: 1, 1/2, 2/3, 1/2, 3/5    R: 1/3, 1/3, 2/3, 2/3, 1
  const scores = [0.9, 0.8, 0.7, 0.6, 0.5];
  const labels = [1, -1, 1, -1, 1];

  it('voc07: 11-point by hand', () => {
    // t = 0, .1, .2, .3 -> 1 (recall 1/3 >= .3); t = .4, .5, .6 -> 2/3; t = .7 .. 1 -> 3/5
    close(averagePrecision(scores, labels, 'voc07'), (4 * 1 + 3 * (2 / 3) + 4 * (3 / 5)) / 11);
    close(averagePrecision(scores, labels), 8.4 / 11);
  });

  it('area: envelope 1, 2/3, 3/5 over recall steps of 1/3', () => {
    close(averagePrecision(scores, labels, 'area'), (1 + 2 / 3 + 3 / 5) / 3); // 34/45
  });

  it('sklearn: the scikit-learn documentation example', () => {
    // y_true [0,0,1,1] in sklearn terms; ranked 0.8+, 0.4-, 0.35+, 0.1-
    // sum (R_n - R_{n-1}) P_n = .5*1 + 0*.5 + .5*(2/3) + 0 = 0.8333
    close(averagePrecision([0.1, 0.4, 0.35, 0.8], [-1, -1, 1, 1], 'sklearn'), 5 / 6);
  });

  it('the three variants differ where precision rises after a miss', () => {
    // Ranked -, +, +: P 0, 1/2, 2/3; R 0, 1/2, 1
    const s = [0.9, 0.8, 0.7];
    const l = [-1, 1, 1];
    close(averagePrecision(s, l, 'sklearn'), 0.5 * 0.5 + 0.5 * (2 / 3)); // 7/12, no interpolation
    close(averagePrecision(s, l, 'area'), 2 / 3); // envelope lifts the first step to 2/3
    close(averagePrecision(s, l, 'voc07'), 2 / 3); // every t sees max precision 2/3
  });

  it('voc07 and area on the sklearn example', () => {
    // P: 1, .5, 2/3, .5; R: .5, .5, 1, 1 -> voc07: t <= .5 -> 1 (6 values), t > .5 -> 2/3 (5 values)
    close(averagePrecision([0.1, 0.4, 0.35, 0.8], [-1, -1, 1, 1], 'voc07'), (6 + 5 * (2 / 3)) / 11);
    close(averagePrecision([0.1, 0.4, 0.35, 0.8], [-1, -1, 1, 1], 'area'), 5 / 6);
  });

  it('voc07 counts a recall of exactly 3/10 at t = 0.3', () => {
    // 10 positives: 3 hits, a miss, then 7 hits. P at recall .3 is 1; from recall .4 on the max is 10/11.
    const l = [1, 1, 1, -1, 1, 1, 1, 1, 1, 1, 1];
    const s = l.map((_, i) => 1 - i / 100);
    close(averagePrecision(s, l, 'voc07'), (4 + 7 * (10 / 11)) / 11); // 114/121, not 113/121 (numpy thresholds)
  });

  it('ties: voc07/area keep input order (stable sort), sklearn groups them', () => {
    // 0.9+, then a tie at 0.5 between a negative and a positive, then 0.1-
    const s = [0.9, 0.5, 0.5, 0.1];
    const negFirst = [1, -1, 1, -1];
    const posFirst = [1, 1, -1, -1];
    close(averagePrecision(s, negFirst, 'voc07'), (6 + 5 * (2 / 3)) / 11);
    close(averagePrecision(s, negFirst, 'area'), 5 / 6);
    close(averagePrecision(s, posFirst, 'voc07'), 1);
    close(averagePrecision(s, posFirst, 'area'), 1);
    // One threshold at 0.5 holds both: P 2/3 at R 1 -> .5*1 + .5*(2/3)
    close(averagePrecision(s, negFirst, 'sklearn'), 5 / 6);
    close(averagePrecision(s, posFirst, 'sklearn'), 5 / 6);
    // All tied: voc07 depends on order, sklearn is the prevalence
    close(averagePrecision([1, 1], [-1, 1], 'voc07'), 0.5);
    close(averagePrecision([1, 1], [1, -1], 'voc07'), 1);
    close(averagePrecision([1, 1], [1, -1], 'sklearn'), 0.5);
    close(averagePrecision([1, 1], [-1, 1], 'sklearn'), 0.5);
  });

  it('difficult (0) labels are ignored wherever they rank', () => {
    const s = [0.95, ...scores, 0.3, 0.85];
    const l = [0, ...labels, 0, 0];
    close(averagePrecision(s, l, 'voc07'), 8.4 / 11);
    close(averagePrecision(s, l, 'area'), 34 / 45);
    close(averagePrecision(s, l, 'sklearn'), 34 / 45);
  });

  it('a class with no positives, or only difficult ones, is NaN', () => {
    for (const method of ['voc07', 'area', 'sklearn'] as const) {
      assert.ok(Number.isNaN(averagePrecision([0.3, 0.2], [-1, -1], method)));
      assert.ok(Number.isNaN(averagePrecision([0.3, 0.2], [0, 0], method)));
      assert.ok(Number.isNaN(averagePrecision([0.3, 0.2], [0, -1], method)));
      assert.ok(Number.isNaN(averagePrecision([], [], method)));
    }
  });

  it('all positives ranked first give 1; infinite scores rank', () => {
    for (const method of ['voc07', 'area', 'sklearn'] as const) {
      close(averagePrecision([Infinity, 2, -Infinity], [1, 1, -1], method), 1);
    }
  });

  it('rejects bad input', () => {
    assert.throws(() => averagePrecision([0.1, 0.2], [1]), RangeError);
    assert.throws(() => averagePrecision([0.1], [2]), /labels must be 1, -1 or 0/);
    assert.throws(() => averagePrecision([NaN], [1]), /NaN/);
  });
});

describe('interpolatedAP', () => {
  it('recall is against npos, so unmatched positives lower it', () => {
    // One hit out of 2 positives: P 1 at R .5 -> voc07 6/11, area .5
    close(interpolatedAP([true], 2, 'voc07'), 6 / 11);
    close(interpolatedAP([true], 2, 'area'), 0.5);
    assert.ok(Number.isNaN(interpolatedAP([true], 0)));
  });
});

describe('meanAP', () => {
  it('averages ignoring NaN', () => {
    close(meanAP([0.5, NaN, 1]), 0.75);
    assert.ok(Number.isNaN(meanAP([NaN])));
    assert.ok(Number.isNaN(meanAP([])));
  });
});
