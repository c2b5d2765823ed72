/**
 * Downstream tasks describe themselves: a new task is one file calling
 * registerTask plus one line in ./index.ts. The experiment schema, the
 * load-time checks (what the task needs of a dataset and of a pretext
 * method) and the plan's expansion (protocols, layers) read these entries.
 */
import type { DatasetCapabilities, DatasetHandle } from '../data/formats/types.js';
import type { ModelConfig } from '../models/config.js';
import type { EncoderLayer } from '../models/encoders/layers.js';
import { Registry, type ConfigFragment } from '../registry/registry.js';
import type { DownstreamCommonConfig, DownstreamConfig } from './config.js';
import type { ProtocolSpec } from './protocols/registry.js';
import type { DownstreamJob, DownstreamOutcome } from './types.js';

/** What the runner hands a task besides its job. */
export interface DownstreamContext {
  /** The job's dataset, opened through its format. */
  dataset: DatasetHandle;
  /** The job's protocol; null for tasks that train none. */
  protocol: ProtocolSpec | null;
}

export interface DownstreamTaskSpec<C extends DownstreamCommonConfig = DownstreamConfig> {
  name: string;
  /** One line for the schema's description of `task`. */
  description?: string;
  /** The task's own fields. */
  config: ConfigFragment;
  /** What it asks of its dataset's format, and of the pretext job (a generator to score). */
  needs: Partial<DatasetCapabilities> & { generator?: boolean };
  /** true: one job per protocol of the entry; false: one job per pretext method (e.g. inpainting scores the decoder). */
  usesProtocols: boolean;
  /** Whether protocols that fit on features themselves (ProtocolSpec.fitFeatures, e.g. kNN) can run it instead of its head. */
  fitsFeatures?: boolean;
  /** The encoder layer it reads: 'chosen' (the entry's layer or layers), a fixed layer, or null (none). */
  layer: 'chosen' | EncoderLayer | null;
  /** Problems the schema cannot express, as "field: message" (field relative to the entry); `model` is the network the pretext jobs train. */
  check?(config: C, model: ModelConfig): string[];
  run(job: DownstreamJob<C>, ctx: DownstreamContext): Promise<DownstreamOutcome>;
}

export const DOWNSTREAM_TASKS = new Registry<DownstreamTaskSpec>('downstream task', 'src/downstream/index.ts');

/** `C` is the task's config type, declared beside its fragment. */
export function registerTask<C extends DownstreamCommonConfig>(spec: DownstreamTaskSpec<C>): DownstreamTaskSpec {
  return DOWNSTREAM_TASKS.register(spec as unknown as DownstreamTaskSpec);
}
