import type { ResumeTarget } from '../engine/resumable-loop.js';
import type { DatasetConfig } from '../data/config.js';
import type { DownstreamConfig, ProtocolName } from './config.js';

/** Everything that determines one downstream job's output. */
export interface DownstreamJob {
  config: DownstreamConfig;
  /** null for tasks without a training protocol (inpainting). */
  protocol: ProtocolName | null;
  dataset: DatasetConfig;
  seed: number;
  /** Pretext method label, for logs. */
  method: string;
  /** Saved encoder (image -> pool5) of the pretext job. */
  encoderDir: string;
  /** Saved encoder-decoder of the pretext job (inpainting). */
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

export type DownstreamTask = (job: DownstreamJob) => Promise<DownstreamOutcome>;
