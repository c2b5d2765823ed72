import assert from 'node:assert/strict';
import { before, describe, it } from 'mocha';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/engine/backend.js';
import { PROTOCOLS } from '../../src/downstream/index.js';
import type { DownstreamCommonConfig } from '../../src/downstream/config.js';

/** Label states (1 present, -1 absent) of single-label rows. */
const states = (labels: number[], classes: number) => labels.map((l) => Int8Array.from({ length: classes }, (_, c) => (c === l ? 1 : -1)));
const entry = (fields: Record<string, unknown>) => ({ task: 'classification', dataset: 'd', checkpointEvery: 100, ...fields }) as unknown as DownstreamCommonConfig;

describe('knn and linear protocols (fit on frozen features)', () => {
  before(async () => {
    await initBackend('wasm');
  });

  it('knn scores each class by its exp(s/T) votes among the k nearest training rows', () => {
    const knn = PROTOCOLS.get('knn');
    assert.deepEqual(knn.trainedLayers(entry({}), 'conv3'), []);
    // Train rows: (1,0) class 0, (0,1) class 1, (1,1) class 1. Query (2,1): cosines 0.894, 0.447, 0.949.
    const score = knn.fitFeatures!({ features: Float32Array.from([1, 0, 0, 1, 1, 1]), labels: states([0, 1, 1], 2), featureSize: 2, seed: 1 }, entry({ k: 2, temperature: 0.5 }));
    const before = tf.memory().numTensors;
    const out = score(Float32Array.from([2, 1]), 1);
    assert.equal(tf.memory().numTensors, before);
    const s = [2 / Math.sqrt(5), 1 / Math.sqrt(5), 3 / Math.sqrt(10)];
    // k = 2 keeps rows 2 (class 1) and 0 (class 0).
    assert.ok(Math.abs(out[0] - Math.exp(s[0] / 0.5)) < 1e-3, `${out[0]}`);
    assert.ok(Math.abs(out[1] - Math.exp(s[2] / 0.5)) < 1e-3, `${out[1]}`);
  });

  it('linear separates separable features and leaves no tensor behind', () => {
    const linear = PROTOCOLS.get('linear');
    const before = tf.memory().numTensors;
    // Class = sign of the first feature; the second is noise-free filler.
    const xs = [-3, -2, -1, 1, 2, 3].flatMap((v, i) => [v, (i % 3) - 1]);
    const labels = [0, 0, 0, 1, 1, 1];
    const score = linear.fitFeatures!(
      { features: Float32Array.from(xs), labels: states(labels, 2), featureSize: 2, seed: 2 },
      entry({ probeEpochs: 50, probeBatchSize: 6, probeLr: 0.05, probeOptimizer: 'adam', probeWeightDecay: 0 }),
    );
    assert.equal(tf.memory().numTensors, before);
    const out = score(Float32Array.from([-5, 0, 5, 0]), 2);
    assert.ok(out[0] > out[1] && out[3] > out[2], `scores ${[...out]}`);
  });
});
