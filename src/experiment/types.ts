/** The experiment file's shape after validation and defaults (schema.ts); each part is defined by the module that reads it. */
import type { DatasetConfig } from '../data/config.js';
import type { DownstreamConfig } from '../downstream/config.js';
import type { ModelConfig } from '../models/config.js';
import type { PretextConfig } from '../pretext/config.js';

export type { DatasetConfig, DatasetFormat, SynthesizeConfig } from '../data/config.js';
export type { DownstreamConfig } from '../downstream/config.js';
export type { EncoderLayer } from '../models/encoders/layers.js';
export type { ModelConfig } from '../models/config.js';
export type { PretextConfig } from '../pretext/config.js';

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
