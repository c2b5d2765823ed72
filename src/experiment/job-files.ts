/**
 * Where a job's files are and what they say, without loading any training
 * code: whether a job is done (its metrics.json, written last, exists), its
 * metrics, its label. Cheap to import for the CLI, `bench status` and the
 * executors that only schedule.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { exists } from '../fs/atomic.js';
import type { JobMetrics } from '../results/format.js';
import type { PlannedJob } from './plan.js';

/** A training job's checkpoints, beside its folder (which only exists once the job is done). */
export const PARTIAL_SUFFIX = '.partial';
export const STATE_FILE = 'state.bin';
export const METRICS_FILE = 'metrics.json';
/** Written by `bench run` before any job starts: every job of the plan and its folder. */
export const PLAN_FILE = 'plan.json';
/** Exit code of `bench job` when it checkpointed on request and stopped: rerun it to resume. */
export const EXIT_STOPPED = 3;

/** Whether the job has finished (its metrics.json, written last, exists). */
export function isDone(resultsDir: string, job: Pick<PlannedJob, 'dir'>): Promise<boolean> {
  return exists(join(resultsDir, job.dir, METRICS_FILE));
}

export async function readJobMetrics(resultsDir: string, job: Pick<PlannedJob, 'dir'>): Promise<JobMetrics> {
  return JSON.parse(await readFile(join(resultsDir, job.dir, METRICS_FILE), 'utf8')) as JobMetrics;
}

export function describeJob(job: PlannedJob): string {
  return job.stage === 'pretext'
    ? `pretext ${job.method} (seed ${job.seed})`
    : `${job.task}${job.protocol ? `/${job.protocol}` : ''}${job.layer && job.config.layers ? ` at ${job.layer}` : ''} on ${job.method} (seed ${job.seed})`;
}
