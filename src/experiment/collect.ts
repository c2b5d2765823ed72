/**
 * results.csv: one row per (job, summary metric), in plan order, derived from
 * the job folders alone, so any process that sees them (the run, the last
 * `bench job` of a sweep, `bench status`) can rebuild it identically.
 */
import { join } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { writeFileAtomic } from '../results/store.js';
import { isDone, readJobMetrics, type JobMetrics } from './job-files.js';
import type { PlannedJob } from './plan.js';

export const RESULTS_FILE = 'results.csv';
export const RESULTS_COLUMNS = ['experiment', 'method', 'task', 'protocol', 'seed', 'metric', 'value', 'backend', 'wall_s', 'img_per_s', 'job'];

export function resultRows(experiment: string, metrics: JobMetrics[]): (string | number)[][] {
  const rows: (string | number)[][] = [];
  for (const m of metrics) {
    for (const [metric, value] of Object.entries(m.summary)) {
      rows.push([experiment, m.method, m.task ?? 'pretext', m.protocol ?? '', m.seed, metric, value, m.backend, m.wallSeconds.toFixed(2), m.imgPerSec.toFixed(2), m.id]);
    }
  }
  return rows;
}

/**
 * Writes results/<name>/results.csv when every job of `plan` is done and
 * returns the jobs' metrics; returns null (writing nothing) while any is not.
 */
export async function collectResults(experiment: string, plan: Pick<PlannedJob, 'dir'>[], resultsDir: string): Promise<JobMetrics[] | null> {
  for (const job of plan) if (!(await isDone(resultsDir, job))) return null;
  const metrics = await Promise.all(plan.map((job) => readJobMetrics(resultsDir, job)));
  await writeFileAtomic(join(resultsDir, RESULTS_FILE), stringify(resultRows(experiment, metrics), { header: true, columns: RESULTS_COLUMNS }));
  return metrics;
}
