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
}

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
  },
};
