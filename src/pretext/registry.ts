/**
 * Pretext methods describe themselves: a new method is one file calling
 * registerPretext plus one line in ./index.ts. The experiment schema, the
 * load-time checks and the plan read these entries; nothing switches on a
 * method's name.
 */
import type { DatasetHandle } from '../data/formats/types.js';
import type { ModelConfig } from '../models/config.js';
import { Registry, type ConfigFragment } from '../registry/registry.js';
import type { PretextCommonConfig, PretextConfig } from './config.js';
import type { PretextJob, PretextOutcome } from './types.js';

/** What the runner hands a method besides its job: the job's dataset, opened through its format. */
export interface PretextContext {
  dataset: DatasetHandle;
}

export interface PretextMethodSpec<C extends PretextCommonConfig = PretextConfig> {
  name: string;
  /** One line for the schema's description of `method`. */
  description?: string;
  /** The method's own fields (the common ones are in config.ts). */
  config: ConfigFragment;
  /** What it asks of its dataset (checked at load against the dataset's format). */
  needs: { labels: boolean };
  /**
   * What the job folder will hold: an encoder (checkpoint/) whenever the
   * model's generator has one (models/generators), a generator (generator/)
   * when inpainting can score it. A method without a generator trains the
   * model's encoder alone.
   */
  produces: { encoder: true; generator: boolean };
  /** Problems the schema cannot express, as "field: message" (field relative to the entry), e.g. what the model's generator cannot do. */
  check?(config: C, model: ModelConfig): string[];
  train(job: PretextJob<C>, ctx: PretextContext): Promise<PretextOutcome>;
}

export const PRETEXT_METHODS = new Registry<PretextMethodSpec>('pretext method', 'src/pretext/index.ts');

/** `C` is the method's config type, declared beside its fragment. */
export function registerPretext<C extends PretextCommonConfig>(spec: PretextMethodSpec<C>): PretextMethodSpec {
  return PRETEXT_METHODS.register(spec as unknown as PretextMethodSpec);
}
