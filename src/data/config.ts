/** A dataset entry of the experiment file (after validation), as the data layer reads it. */
import type { OnBadSample } from './samples.js';

/** A registered dataset format's name (src/data/formats). */
export type DatasetFormat = string;

export interface SynthesizeConfig {
  images: number;
  size: number;
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
