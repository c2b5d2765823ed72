/** The experiment file's shape after validation and defaults (see schema.json). */
import type { MaskKind } from '../data/masks.js';
import type { OnBadSample } from '../data/samples.js';

export type DatasetFormat = 'voc' | 'folder';

export interface SynthesizeConfig {
  images: number;
  /** Square images of this side; otherwise minSide..maxSide (VOC-like, default 300-500). */
  size?: number;
  minSide?: number;
  maxSide?: number;
  seed: number;
  classes?: number;
}

export interface DatasetConfig {
  format: DatasetFormat;
  /** Absolute after loading. */
  root: string;
  synthesize?: SynthesizeConfig;
  /** Default stop; not filled in, so existing job keys stay as they were. */
  onBadSample?: OnBadSample;
}

export interface ModelConfig {
  inputSize: number;
  widthMultiplier: number;
  decoderWidths?: number[];
}

export type PretextMethodName = 'context-encoder' | 'autoencoder' | 'random';

export interface PretextConfig {
  method: PretextMethodName;
  /** Label in results; defaults to the method. */
  name: string;
  dataset: string;
  split: string;
  heldoutSplit: string;
  heldoutImages: number;
  mask: MaskKind;
  evalMask: MaskKind;
  holeFraction: number;
  overlapPx: number;
  overlapWeight: number;
  steps: number;
  batchSize: number;
  lr: number;
  beta1: number;
  adversarial: boolean;
  lambdaRec: number;
  loadScale: number;
  maxImages?: number;
  /** Dropout rate after the channel-wise FC; absent means none. */
  dropout?: number;
  logEvery: number;
  checkpointEvery: number;
}

export type TaskName = 'classification' | 'detection' | 'segmentation' | 'inpainting';
export type ProtocolName = 'frozen' | 'finetune';
export type EncoderLayer = 'conv1' | 'pool1' | 'conv2' | 'pool2' | 'conv3' | 'conv4' | 'conv5' | 'pool5';

export interface DownstreamConfig {
  task: TaskName;
  dataset: string;
  trainSplit: string;
  testSplit: string;
  protocols: ProtocolName[];
  layer: EncoderLayer;
  inputSize?: number;
  rescale: boolean;
  finetuneFrom?: 'conv1' | 'conv2' | 'conv3' | 'conv4' | 'conv5';
  steps: number;
  batchSize: number;
  lr: number;
  encoderLrScale: number;
  headWidths: number[];
  maxTrainImages?: number;
  maxTestImages?: number;
  testCrops: 1 | 10;
  apMethod: 'voc07' | 'area' | 'sklearn';
  proposals?: string;
  roisPerImage: number;
  images?: string;
  mask: MaskKind;
  samples: number;
  checkpointEvery: number;
}

export interface Experiment {
  name: string;
  description?: string;
  /** Absolute path of the experiment file. */
  file: string;
  seeds: number[];
  datasets: Record<string, DatasetConfig>;
  model: ModelConfig;
  pretext: PretextConfig[];
  downstream: DownstreamConfig[];
}
