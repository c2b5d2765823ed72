/**
 * The fields every pretext entry has, whatever its method; a method adds its
 * own through its registration's `config` fragment.
 */
import type { ConfigFragment } from '../registry/registry.js';

export interface PretextCommonConfig {
  /** A registered method's name. */
  method: string;
  /** Label in results; defaults to the method. */
  name: string;
  /** A key of the experiment's datasets; defaults to the first. */
  dataset: string;
  logEvery: number;
  checkpointEvery: number;
}

/** A pretext entry after validation and defaults: the common fields and its method's. */
export type PretextConfig = PretextCommonConfig & Record<string, unknown>;

/** Fields that change logs or checkpoints, not the numbers (or only the label): never in a job key. */
export const PRETEXT_UNKEYED_FIELDS = ['name', 'logEvery', 'checkpointEvery'] as const;

export const COMMON_PRETEXT_FIELDS: ConfigFragment = {
  properties: {
    name: { type: 'string', pattern: '^[A-Za-z0-9._-]+$', description: 'Label in results and reports; defaults to the method.' },
    dataset: { type: 'string', description: 'A key of datasets; defaults to the first.' },
    logEvery: { type: 'integer', minimum: 1, default: 10 },
    checkpointEvery: {
      type: 'integer',
      minimum: 1,
      default: 100,
      description: 'Save a training checkpoint every this many steps; an interrupted `bench run` resumes from the last one. Does not change the numbers.',
    },
  },
};
