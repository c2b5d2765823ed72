/**
 * The fields every downstream entry has, and those of the tasks that train a
 * head on encoder features (classification, detection, segmentation); each
 * task and protocol adds its own through its registration's `config`.
 */
import type { EncoderLayer } from '../models/encoders/layers.js';
import type { ConfigFragment } from '../registry/registry.js';

export interface DownstreamCommonConfig {
  /** A registered task's name. */
  task: string;
  /** A key of the experiment's datasets; defaults to the first. */
  dataset: string;
  /** Registered protocols, one job each (tasks that train through protocols). */
  protocols?: string[];
  /** The encoder layer the head reads (tasks that read a chosen layer); `layers` gives several, one job each. */
  layer?: EncoderLayer;
  layers?: EncoderLayer[];
  checkpointEvery: number;
}

/** A downstream entry after validation and defaults: the common fields, its task's and its protocols'. */
export type DownstreamConfig = DownstreamCommonConfig & Record<string, unknown>;

/** Fields that name the jobs of an entry (one per protocol and layer) or only change checkpointing: replaced by the job's own protocol and layer in its key. */
export const DOWNSTREAM_UNKEYED_FIELDS = ['protocols', 'layer', 'layers', 'checkpointEvery'] as const;

/** The layer a task reading a chosen layer uses when the entry names none. */
export const DEFAULT_LAYER: EncoderLayer = 'pool5';

export const CHECKPOINT_EVERY_FIELD = {
  type: 'integer',
  minimum: 1,
  default: 100,
  description: 'Save a training checkpoint every this many steps (tasks that train); an interrupted `bench run` resumes from the last one. Does not change the numbers.',
};

/** Fields of the tasks that train a head on encoder features. */
export interface TransferConfig extends DownstreamCommonConfig {
  trainSplit: string;
  testSplit: string;
  inputSize?: number;
  rescale: boolean;
  steps: number;
  batchSize: number;
  lr: number;
  headWidths: number[];
  maxTrainImages?: number;
  maxTestImages?: number;
  /** Read by every protocol's optimiser; only protocols that train the encoder use it (finetune declares it). */
  encoderLrScale?: number;
  /** Absent: adam. The optimiser fields below are absent unless given, so they stay out of the job keys of entries that do not give them. */
  optimizer?: 'adam' | 'sgd';
  /** sgd only; absent: 0.9. */
  momentum?: number;
  weightDecay?: number;
  clipGradNorm?: number;
  /** lr x lrGamma every lrStepEvery steps (both or neither); absent: constant lr. */
  lrStepEvery?: number;
  lrGamma?: number;
}

/** SGD's momentum when the entry gives none (Caffe's, and Krähenbühl et al.'s solver's). */
export const DEFAULT_MOMENTUM = 0.9;

export const TRANSFER_FIELDS: ConfigFragment = {
  properties: {
    trainSplit: { type: 'string', default: 'trainval' },
    testSplit: { type: 'string', default: 'test' },
    inputSize: {
      type: 'integer',
      minimum: 67,
      maximum: 1024,
      description: 'Image side for this task (default: the pretext input size); the convolutional encoder is re-applied at this size, as Fast R-CNN and FCN run on larger images.',
    },
    rescale: {
      type: 'boolean',
      default: false,
      description: "Divide each encoder conv channel by the std of its pre-activation on training images before transfer (the scale part of Krähenbühl et al.'s data-dependent rescaling, which the paper applies).",
    },
    steps: { type: 'integer', minimum: 1, default: 1000 },
    batchSize: { type: 'integer', minimum: 1, default: 32 },
    lr: { type: 'number', exclusiveMinimum: 0, default: 0.001 },
    headWidths: { type: 'array', items: { type: 'integer', minimum: 1 }, default: [512, 512], description: 'fc6, fc7 widths of the re-initialised head.' },
    maxTrainImages: { type: 'integer', minimum: 1 },
    maxTestImages: { type: 'integer', minimum: 1 },
    // No defaults below: a default would be filled into every entry, and so into the job key of every existing experiment.
    optimizer: {
      enum: ['adam', 'sgd'],
      description: 'adam (default; tf.train.adam at lr) or sgd (SGD with momentum, as Caffe\'s solver).',
    },
    momentum: { type: 'number', minimum: 0, exclusiveMaximum: 1, description: `Momentum of the sgd optimizer (default ${DEFAULT_MOMENTUM}).` },
    weightDecay: {
      type: 'number',
      minimum: 0,
      description: 'L2 weight decay: weightDecay x w is added to the gradient of every trained weight, biases included, as Caffe\'s solvers do (default none).',
    },
    clipGradNorm: {
      type: 'number',
      exclusiveMinimum: 0,
      description: "Scale the step's gradients (head and encoder together) down to this global L2 norm when they exceed it, before weight decay, as Caffe's clip_gradients (default none).",
    },
    lrStepEvery: { type: 'integer', minimum: 1, description: 'Multiply lr (and the encoder\'s) by lrGamma every this many steps, as Caffe\'s "step" policy (default: constant lr).' },
    lrGamma: { type: 'number', exclusiveMinimum: 0, maximum: 1, description: 'The factor applied every lrStepEvery steps (e.g. 0.5: halved).' },
  },
};

/** The optimiser fields' problems the schema cannot express, as "field: message". */
export function checkOptimizerFields(config: TransferConfig): string[] {
  const problems: string[] = [];
  if (config.momentum !== undefined && config.optimizer !== 'sgd') {
    problems.push(`momentum: only the sgd optimizer reads it, and optimizer is ${config.optimizer ?? 'adam (the default)'}; add "optimizer": "sgd" or remove momentum`);
  }
  if (config.lrStepEvery !== undefined && config.lrGamma === undefined) problems.push('lrStepEvery: give lrGamma too, the factor applied every lrStepEvery steps');
  if (config.lrGamma !== undefined && config.lrStepEvery === undefined) problems.push('lrGamma: give lrStepEvery too, the number of steps between two multiplications');
  return problems;
}
