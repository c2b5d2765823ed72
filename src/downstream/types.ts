import type { ResumeTarget } from '../engine/resumable-loop.js';
import type { DatasetConfig } from '../data/config.js';
import type { EncoderLayer } from '../models/encoders/layers.js';
import type { DownstreamCommonConfig, DownstreamConfig } from './config.js';

/** Everything that determines one downstream job's output. */
export interface DownstreamJob<C extends DownstreamCommonConfig = DownstreamConfig> {
  config: C;
  /** The job's protocol name, for logs; null for tasks without a training protocol (inpainting). */
  protocol: string | null;
  /** The encoder layer the job reads (one of the entry's layers); null for tasks that read none. */
  layer: EncoderLayer | null;
  dataset: DatasetConfig;
  seed: number;
  /** Pretext method label, for logs. */
  method: string;
  /** Saved encoder (image -> pool5) of the pretext job. */
  encoderDir: string;
  /** Saved encoder-decoder of the pretext job (tasks that need a generator). */
  generatorDir: string;
  outDir: string;
  /**
   * Where training checkpoints every `config.checkpointEvery` steps and
   * resumes from; outside outDir, which only exists whole. `key` is the job's
   * hash: a checkpoint written for another config is never resumed.
   */
  resume?: ResumeTarget;
}

export interface DownstreamOutcome {
  summary: Record<string, number>;
  perClass?: Record<string, Record<string, number>>;
  /** PNG paths relative to the job folder. */
  samples?: string[];
  imgPerSec: number;
  /** "file: why" of each sample left out under onBadSample "skip". */
  skippedSamples: string[];
}
