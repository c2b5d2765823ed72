import assert from 'node:assert/strict';
import { describe, it } from 'mocha';
import { scheduledLr } from '../../src/engine/lr-schedule.js';

describe('engine/lr-schedule: step schedule', () => {
  it("halves 0.001 every 10,000 steps as Caffe's step policy (iteration = step - 1)", () => {
    const schedule = { every: 10000, gamma: 0.5 };
    const at = (step: number) => scheduledLr(0.001, step, schedule);
    assert.equal(at(1), 0.001);
    assert.equal(at(10000), 0.001);
    assert.equal(at(10001), 0.0005);
    assert.equal(at(20000), 0.0005);
    assert.equal(at(20001), 0.00025);
    assert.equal(at(79999), 0.001 * 0.5 ** 7);
    assert.equal(at(80000), 7.8125e-6);
  });

  it('multiplies by gamma at every boundary, whatever gamma', () => {
    const schedule = { every: 3, gamma: 0.1 };
    assert.deepEqual([1, 2, 3, 4, 6, 7].map((s) => scheduledLr(2, s, schedule)), [2, 2, 2, 2 * 0.1, 2 * 0.1, 2 * 0.1 ** 2]);
  });

  it('keeps the rate constant without a schedule', () => {
    for (const step of [1, 10001, 1e6]) assert.equal(scheduledLr(0.003, step, {}), 0.003);
  });
});
