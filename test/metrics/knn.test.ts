import assert from 'node:assert/strict';
import { describe, it } from 'mocha';
import { accuracy, knnPredict, knnVote, knnVotes, l2NormalizeRows } from '../../src/metrics/knn.js';

function close(actual: number, expected: number, tol = 1e-6): void {
  assert.ok(Math.abs(actual - expected) <= tol, `expected ${expected}, got ${actual}`);
}

describe('l2NormalizeRows', () => {
  it('scales each row to unit length and leaves a zero row at zero', () => {
    const out = l2NormalizeRows(Float32Array.from([3, 4, 0, 0, 0, -2]), 2);
    [0.6, 0.8, 0, 0, 0, -1].forEach((v, i) => close(out[i], v));
  });
});

describe('knnVote', () => {
  it('weights votes by exp(s / T): two close neighbours of one class outvote three far ones', () => {
    // k = 5, T = 0.1: class 0 gets 2 e^9 = 16206, class 1 gets 3 e^5.9 = 1095.
    const sims = [0.9, 0.9, 0.59, 0.59, 0.59];
    assert.equal(knnVote(sims, [0, 0, 1, 1, 1], 2, { k: 5, temperature: 0.1 }), 0);
    // With a flat temperature the majority wins: 2 e^0.9/100 < 3 e^0.59/100.
    assert.equal(knnVote(sims, [0, 0, 1, 1, 1], 2, { k: 5, temperature: 100 }), 1);
  });

  it('only the k most similar rows vote', () => {
    const sims = [0.1, 0.8, 0.2, 0.7, 0.3];
    const labels = [2, 0, 2, 1, 2];
    // k = 2: rows 1 (class 0) and 3 (class 1); class 2's three rows are left out.
    assert.equal(knnVote(sims, labels, 3, { k: 2 }), 0);
    // k = 5: class 2 totals e^(0.1/.07) + e^(0.2/.07) + e^(0.3/.07) = 4.17 + 17.4 + 72.7 = 94.2 < e^(0.8/.07) = 93,000
    assert.equal(knnVote(sims, labels, 3, { k: 5 }), 0);
  });

  it('breaks ties deterministically: equal similarities in row order, equal totals to the lower class', () => {
    // Rows 0..2 all at 0.5; k = 2 keeps rows 0 and 1 (classes 1 and 0): equal totals -> class 0.
    assert.equal(knnVote([0.5, 0.5, 0.5], [1, 0, 2], 3, { k: 2 }), 0);
    // k = 1 keeps row 0 only.
    assert.equal(knnVote([0.5, 0.5, 0.5], [1, 0, 2], 3, { k: 1 }), 1);
  });

  it('refuses labels outside the class range and mismatched lengths', () => {
    assert.throws(() => knnVote([0.1], [3], 3), /outside 0\.\.2/);
    assert.throws(() => knnVote([0.1, 0.2], [0], 3), /2 similarities for 1/);
  });

  it('gives each class its summed weight; a multi-label row votes for each of its classes', () => {
    const votes = knnVotes([0.7, 0.0, 0.35], [[0, 2], 1, [2]], 3, { k: 3, temperature: 0.35 });
    close(votes[0], Math.exp(2));
    close(votes[1], 1);
    close(votes[2], Math.exp(2) + Math.exp(1));
  });
});

describe('knnPredict', () => {
  it('uses cosine similarity, so a row scaled 100x is the same neighbour', () => {
    // Train: class 0 along x, class 1 along y (100x longer). Query (1, 0.9) is nearer x by angle, (1, 1.1) nearer y.
    const train = { features: Float32Array.from([1, 0, 0, 100]), dim: 2 };
    const query = { features: Float32Array.from([1, 0.9, 1, 1.1, -1, 0]), dim: 2 };
    // (-1, 0): similarity -1 to class 0 and 0 to class 1; k = 2 both vote, e^0 > e^(-1/.07) -> class 1.
    assert.deepEqual([...knnPredict(train, [0, 1], query, 2, { k: 2 })], [0, 1, 1]);
  });

  it('matches a vote computed by hand on three rows', () => {
    const train = { features: Float32Array.from([1, 0, 0.6, 0.8, 0, 1]), dim: 2 };
    const q = { features: Float32Array.from([0.8, 0.6]), dim: 2 };
    // sims 0.8, 0.96, 0.6; k = 2 -> rows 1 (class 1) and 0 (class 0): class 1.
    assert.deepEqual([...knnPredict(train, [0, 1, 0], q, 2, { k: 2 })], [1]);
    // T large, k = 3: class 0 gets rows 0 and 2 (two votes of ~1) against one.
    assert.deepEqual([...knnPredict(train, [0, 1, 0], q, 2, { k: 3, temperature: 1e6 })], [0]);
    close(accuracy([1, 0, 2, 2], [1, 1, 2, 0]), 0.5);
  });
});
