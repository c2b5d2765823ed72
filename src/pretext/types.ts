import type { DatasetConfig } from '../data/config.js';
import type { ModelConfig } from '../models/config.js';
import type { PretextCommonConfig, PretextConfig } from './config.js';

/** Everything that determines one pretext job's output. */
export interface PretextJob<C extends PretextCommonConfig = PretextConfig> {
  config: C;
  model: ModelConfig;
  dataset: DatasetConfig;
  seed: number;
  /** The job's folder: checkpoint/ (encoder), generator/ and log.csv go here. */
  outDir: string;
  /**
   * Where training checkpoints every `config.checkpointEvery` steps and
   * resumes from; outside outDir, which only exists whole. `key` is the job's
   * hash: a checkpoint written for another config is never resumed.
   */
  resume?: { file: string; key: string };
}

export interface PretextOutcome {
  /** Numbers for metrics.json and results.csv (train_seconds, final_loss, heldout_masked_l2). */
  summary: Record<string, number>;
  imgPerSec: number;
  /** "file: why" of each sample left out under onBadSample "skip". */
  skippedSamples: string[];
}
