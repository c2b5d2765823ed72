/**
 * The results format, defined once: what a job writes to metrics.json, the
 * columns of results.csv and the key that identifies a result. `bench run`
 * writes through this module; `bench report` and `bench check` read through it.
 */

/** A job's metrics.json. */
export interface JobMetrics {
  id: string;
  stage: 'pretext' | 'downstream';
  method: string;
  task?: string;
  protocol?: string;
  /** Encoder layer the downstream job read features from; absent for jobs that read none (pretext, inpainting). */
  layer?: string;
  seed: number;
  backend: string;
  wallSeconds: number;
  imgPerSec: number;
  summary: Record<string, number>;
  perClass?: Record<string, Record<string, number>>;
  samples?: string[];
  /** Samples left out under onBadSample "skip" ("file: why"); absent when none were. */
  skippedSamples?: string[];
}

export const RESULTS_COLUMNS = ['experiment', 'method', 'task', 'protocol', 'layer', 'seed', 'metric', 'value', 'backend', 'wall_s', 'img_per_s', 'job'] as const;

/** Columns a results.csv must have to be read; `layer` is optional so results written before it existed still load. */
export const REQUIRED_COLUMNS = ['method', 'task', 'protocol', 'seed', 'metric', 'value'] as const;

/** What distinguishes one result from another, except the seed it ran with. */
export interface MetricKey {
  method: string;
  /** 'pretext' for pretext rows. */
  task: string;
  /** '' for rows without a protocol (pretext, inpainting). */
  protocol: string;
  /** '' for rows without an encoder layer (pretext, inpainting). */
  layer: string;
  metric: string;
}

/** One row of results.csv: one metric of one job. */
export interface ResultRow extends MetricKey {
  seed: number;
  value: number;
  backend: string;
  job: string;
}

export function keyOf(k: MetricKey): string {
  return [k.method, k.task, k.protocol, k.layer, k.metric].join('\u0000');
}

/** A row's key including its seed: two rows with the same one are the same result, the later superseding the earlier. */
export function seededKeyOf(row: MetricKey & { seed: number }): string {
  return `${keyOf(row)}\u0000${row.seed}`;
}

/** The rows of one job, values as the job computed them. */
export function rowsOfJob(metrics: JobMetrics): ResultRow[] {
  return Object.entries(metrics.summary).map(([metric, value]) => ({
    method: metrics.method,
    task: metrics.stage === 'pretext' ? 'pretext' : (metrics.task ?? ''),
    protocol: metrics.protocol ?? '',
    layer: metrics.layer ?? '',
    seed: metrics.seed,
    metric,
    value,
    backend: metrics.backend,
    job: metrics.id,
  }));
}

/** results.csv records (in RESULTS_COLUMNS order) for finished jobs. */
export function resultRecords(experiment: string, metrics: JobMetrics[]): (string | number)[][] {
  return metrics.flatMap((m) =>
    rowsOfJob(m).map((r) => [experiment, r.method, r.task, r.protocol, r.layer, r.seed, r.metric, r.value, r.backend, m.wallSeconds.toFixed(2), m.imgPerSec.toFixed(2), r.job]),
  );
}
