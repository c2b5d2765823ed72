/** A downstream entry of the experiment file, after validation and defaults. */
import type { MaskKind } from '../data/masks.js';
import type { EncoderLayer, TrainableEncoderLayer } from '../models/encoders/layers.js';

export type TaskName = 'classification' | 'detection' | 'segmentation' | 'inpainting';
export type ProtocolName = 'frozen' | 'finetune';

export interface DownstreamConfig {
  task: TaskName;
  dataset: string;
  trainSplit: string;
  testSplit: string;
  protocols: ProtocolName[];
  layer: EncoderLayer;
  inputSize?: number;
  rescale: boolean;
  finetuneFrom?: TrainableEncoderLayer;
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
