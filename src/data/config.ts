/** A dataset entry of the experiment file (after validation), as the data layer reads it. */
import type { OnBadSample } from './samples.js';

/** A registered dataset format's name (src/data/formats). */
export type DatasetFormat = string;

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
