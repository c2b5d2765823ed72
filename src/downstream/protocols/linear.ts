/**
 * linear: one linear layer on frozen, standardised features (Zhang et al.
 * 2017's probe), trained with Adam or SGD-momentum under a cosine schedule;
 * softmax for one class per image, per-class sigmoid for multi-label data.
 */
import * as tf from '@tensorflow/tfjs';
import { LINEAR_PROBE_DEFAULTS, probeScores, trainLinearProbe } from '../linear-probe.js';
import { PROBE_DIMS_FIELD } from '../probe-pooling.js';
import { registerProtocol } from './registry.js';

/** The protocol's own fields of a downstream entry. */
interface LinearConfig {
  probeEpochs: number;
  probeBatchSize: number;
  probeLr: number;
  probeOptimizer: 'adam' | 'sgd';
  probeWeightDecay: number;
  probeDims: number;
}

registerProtocol({
  name: 'linear',
  description: "one linear layer on the frozen encoder's standardised features (softmax or sigmoid), Adam or SGD with a cosine schedule",
  config: {
    properties: {
      probeEpochs: { type: 'integer', minimum: 1, default: LINEAR_PROBE_DEFAULTS.epochs, description: 'linear protocol: passes over the training features.' },
      probeBatchSize: { type: 'integer', minimum: 1, default: LINEAR_PROBE_DEFAULTS.batchSize },
      probeLr: { type: 'number', exclusiveMinimum: 0, default: LINEAR_PROBE_DEFAULTS.lr, description: 'linear protocol: peak learning rate of the cosine schedule.' },
      probeOptimizer: { enum: ['adam', 'sgd'], default: LINEAR_PROBE_DEFAULTS.optimizer, description: 'linear protocol: Adam, or SGD with momentum 0.9.' },
      probeWeightDecay: { type: 'number', minimum: 0, default: LINEAR_PROBE_DEFAULTS.weightDecay },
      probeDims: PROBE_DIMS_FIELD,
    },
  },
  trainedLayers: () => [],
  pooledDims: (config) => (config as unknown as LinearConfig).probeDims,
  planNote: (config) => `${(config as unknown as LinearConfig).probeEpochs} epochs of a linear probe on cached features (probe not timed)`,
  fitFeatures(train, entry) {
    const config = entry as unknown as LinearConfig;
    const { featureSize, labels } = train;
    const classes = labels[0]?.length ?? 0;
    const n = labels.length;
    // One present class per image: softmax; otherwise per-class sigmoids (0 "difficult" counts as absent).
    const exclusive = labels.every((states) => states.filter((s) => s === 1).length === 1);
    const targets = new Float32Array(n * classes);
    labels.forEach((states, i) => states.forEach((s, c) => (targets[i * classes + c] = s === 1 ? 1 : 0)));
    const x = tf.tensor2d(train.features, [n, featureSize]);
    const y = tf.tensor2d(targets, [n, classes]);
    const probe = trainLinearProbe(x, y, {
      epochs: config.probeEpochs,
      batchSize: config.probeBatchSize,
      lr: config.probeLr,
      optimizer: config.probeOptimizer,
      weightDecay: config.probeWeightDecay,
      loss: exclusive ? 'softmax' : 'sigmoid',
      seed: train.seed,
    });
    tf.dispose([x, y]);
    return (features, count) => probeScores(probe, features, count);
  },
});
