/**
 * knn: no training; each test image's classes are the weighted votes of its
 * k nearest training images by cosine similarity of frozen features
 * (Wu et al. 2018, as DINO evaluates: k = 20 or 200, temperature 0.07). The
 * cheapest and steadiest probe, and deterministic (metrics/knn.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { knnVotes, l2NormalizeRows } from '../../metrics/knn.js';
import { PROBE_DIMS_FIELD } from '../probe-pooling.js';
import { registerProtocol } from './registry.js';

/** Test rows per similarity product: bounds the [rows, train] matrix held at once. */
const QUERY_CHUNK = 256;

/** The protocol's own fields of a downstream entry. */
interface KnnConfig {
  k: number;
  temperature: number;
  probeDims: number;
}

registerProtocol({
  name: 'knn',
  description: 'weighted k-nearest-neighbour vote on L2-normalised frozen features (cosine, exp(s/T)), no training',
  config: {
    properties: {
      k: { type: 'integer', minimum: 1, default: 20, description: 'kNN protocol: neighbours that vote (Wu et al. and DINO report 20 and 200).' },
      temperature: { type: 'number', exclusiveMinimum: 0, default: 0.07, description: 'kNN protocol: each vote weighs exp(similarity / temperature).' },
      probeDims: PROBE_DIMS_FIELD,
    },
  },
  trainedLayers: () => [],
  pooledDims: (config) => (config as unknown as KnnConfig).probeDims,
  planNote: (config) => `k-NN vote (k ${(config as unknown as KnnConfig).k}) on cached features, no training`,
  fitFeatures(train, config) {
    const { featureSize } = train;
    const classes = train.labels[0]?.length ?? 0;
    // Every class marked present (1) gets the row's vote; 0 (difficult) and -1 do not.
    const rowClasses = train.labels.map((states) => [...states.keys()].filter((c) => states[c] === 1));
    const trainCount = rowClasses.length;
    const normalised = l2NormalizeRows(train.features, featureSize);
    const { k, temperature } = config as unknown as KnnConfig;
    const opts = { k, temperature };
    return (features, count) => {
      const scores = new Float32Array(count * classes);
      const queries = l2NormalizeRows(features, featureSize);
      // Made per call and released after: the protocol has no hook to free tensors when its job ends.
      const bank = tf.tensor2d(normalised, [trainCount, featureSize]);
      for (let start = 0; start < count; start += QUERY_CHUNK) {
        const rows = Math.min(QUERY_CHUNK, count - start);
        const sims = tf.tidy(() => tf.matMul(tf.tensor2d(queries.subarray(start * featureSize, (start + rows) * featureSize), [rows, featureSize]), bank, false, true));
        const values = sims.dataSync();
        sims.dispose();
        for (let r = 0; r < rows; r++) {
          scores.set(knnVotes(values.subarray(r * trainCount, (r + 1) * trainCount), rowClasses, classes, opts), (start + r) * classes);
        }
      }
      bank.dispose();
      return scores;
    };
  },
});
