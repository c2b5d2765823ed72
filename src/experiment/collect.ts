/**
 * results.csv: one row per (job, summary metric), in plan order, derived from
 * the job folders alone, so any process that sees them (the run, the last
 * `bench job` of a sweep, `bench status`) can rebuild it identically.
 */
import { join } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { writeFileAtomic } from '../fs/atomic.js';
import { resultRecords, RESULTS_COLUMNS, type JobMetrics } from '../results/format.js';
import { isDone, readJobMetrics } from './job-files.js';

export const RESULTS_FILE = 'results.csv';
/** A planned job as collecting needs it: its folder, and its encoder layer (downstream jobs that read one). */
export interface CollectedJob {
  dir: string;
  layer?: string | null;
}

/**
 * Writes results/<name>/results.csv when every job of `plan` is done and
 * returns the jobs' metrics; returns null (writing nothing) while any is not.
 */
export async function collectResults(experiment: string, plan: CollectedJob[], resultsDir: string): Promise<JobMetrics[] | null> {
  for (const job of plan) if (!(await isDone(resultsDir, job))) return null;
  const metrics = await Promise.all(
    plan.map(async (job) => {
      const finished = await readJobMetrics(resultsDir, job);
      // Jobs finished before results had a layer column take it from the plan, which derives it from the same config.
      return job.layer ? { ...finished, layer: job.layer } : finished;
    }),
  );
  await writeFileAtomic(join(resultsDir, RESULTS_FILE), stringify(resultRecords(experiment, metrics), { header: true, columns: [...RESULTS_COLUMNS] }));
  return metrics;
}
