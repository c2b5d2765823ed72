/**
 * Reads results/<experiment>/ (results.csv, plan.json, each job's metrics.json
 * and log.csv) into typed structures, and reduces seeds to mean ± std. The
 * report and the check read nothing else: no training, no models.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { parse } from 'csv-parse/sync';
import { UserError } from '../errors.js';
import { keyOf, REQUIRED_COLUMNS, rowsOfJob, seededKeyOf, type MetricKey, type ResultRow } from './format.js';
import { compareLayers, compareMethods, compareProtocols, compareStrings, compareTasks } from './names.js';

export type { MetricKey, ResultRow } from './format.js';
export { keyOf } from './format.js';

export interface LogRow {
  step: number;
  loss: number;
  lossRec: number | null;
  lossAdv: number | null;
  lossD: number | null;
  imgPerSec: number | null;
  elapsedSeconds: number | null;
}

export interface JobResult {
  id: string;
  stage: 'pretext' | 'downstream';
  method: string;
  task: string | null;
  protocol: string | null;
  layer: string | null;
  seed: number;
  backend: string;
  /** The job's dataset format ("voc", "folder", "cifar10"), from its config.json; null when that file is absent. */
  datasetFormat: string | null;
  /** Absolute path of the job folder. */
  dir: string;
  summary: Record<string, number>;
  /** metric -> class -> value, classes in the order the job wrote them. */
  perClass: Record<string, Record<string, number>>;
  /** Absolute paths of the sample PNGs. */
  samples: string[];
  /** Pretext training log, when the job wrote one. */
  log: LogRow[] | null;
}

export interface ExperimentResults {
  experiment: string;
  /** Absolute path of results/<experiment>. */
  root: string;
  rows: ResultRow[];
  jobs: JobResult[];
}

export function checkExperimentName(name: string): void {
  if (name === '' || name === '.' || name === '..' || /[\\/]/.test(name)) {
    throw new UserError(`experiment name "${name}": must be a plain folder name (no slashes); set "name" in the experiment JSON`);
  }
}

export async function loadResults(experiment: string, resultsRoot = 'results'): Promise<ExperimentResults> {
  checkExperimentName(experiment);
  const root = resolve(resultsRoot, experiment);
  const shown = join(resultsRoot, experiment);
  if (!existsSync(root)) {
    throw new UserError(`${shown}/ not found: run \`bench run <experiment.json>\` first`);
  }
  const jobs = await loadJobs(root, shown);
  const csvPath = join(root, 'results.csv');
  const rows = existsSync(csvPath) ? await readResultsCsv(csvPath, join(shown, 'results.csv')) : rowsFromJobs(jobs);
  if (rows.length === 0) {
    throw new UserError(`${shown}/: no finished job yet (no rows in results.csv, no metrics.json): run \`bench run <experiment.json>\` first`);
  }
  return { experiment, root, rows: latestRows(rows), jobs };
}

async function readText(path: string, shown: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new UserError(`${shown}: cannot read (${(err as Error).message}); re-run \`bench run\` for this experiment`);
  }
}

function parseCsv(text: string, shown: string): Record<string, string>[] {
  try {
    return parse(text, { columns: true, skip_empty_lines: true, trim: true }) as Record<string, string>[];
  } catch (err) {
    throw new UserError(`${shown}: not valid CSV (${(err as Error).message}); delete it and re-run \`bench run\``);
  }
}

function numberOrNull(text: string | undefined): number | null {
  if (text === undefined || text.trim() === '') return null;
  const value = Number(text);
  return Number.isFinite(value) ? value : null;
}

async function readResultsCsv(path: string, shown: string): Promise<ResultRow[]> {
  const records = parseCsv(await readText(path, shown), shown);
  const rows: ResultRow[] = [];
  records.forEach((record, i) => {
    for (const column of REQUIRED_COLUMNS) {
      if (!(column in record)) throw new UserError(`${shown}: missing column "${column}"; expected the header written by \`bench run\``);
    }
    const seed = numberOrNull(record.seed);
    const value = numberOrNull(record.value);
    if (seed === null) throw new UserError(`${shown}: row ${i + 2} has seed "${record.seed}", not a number`);
    // A metric that came out NaN (e.g. AP of a class with no positives) is absent, not zero.
    if (value === null) return;
    rows.push({
      method: record.method,
      task: record.task,
      protocol: record.protocol ?? '',
      layer: record.layer ?? '',
      seed,
      metric: record.metric,
      value,
      backend: record.backend ?? '',
      job: record.job ?? '',
    });
  });
  return rows;
}

/** The stable order of result keys: every table, chart and check walks them in it. */
export function compareKeys(a: MetricKey, b: MetricKey): number {
  return (
    compareMethods(a.method, b.method) ||
    compareTasks(a.task, b.task) ||
    compareProtocols(a.protocol, b.protocol) ||
    compareLayers(a.layer, b.layer) ||
    compareStrings(a.metric, b.metric)
  );
}

/** The runner appends; a later row with the same key and seed supersedes an earlier one. */
function latestRows(rows: ResultRow[]): ResultRow[] {
  const byKey = new Map<string, ResultRow>();
  for (const row of rows) byKey.set(seededKeyOf(row), row);
  return [...byKey.values()].sort((a, b) => compareKeys(a, b) || a.seed - b.seed);
}

function rowsFromJobs(jobs: JobResult[]): ResultRow[] {
  return jobs.flatMap((job) =>
    rowsOfJob({
      id: job.id,
      stage: job.stage,
      method: job.method,
      task: job.task ?? undefined,
      protocol: job.protocol ?? undefined,
      layer: job.layer ?? undefined,
      seed: job.seed,
      backend: job.backend,
      summary: job.summary,
      wallSeconds: 0,
      imgPerSec: 0,
    }),
  );
}

/** Job folders: those plan.json lists (the current plan), else every folder holding a metrics.json. */
async function jobDirs(root: string, shown: string): Promise<string[]> {
  const planPath = join(root, 'plan.json');
  if (existsSync(planPath)) {
    const plan = parseJson(await readText(planPath, join(shown, 'plan.json')), join(shown, 'plan.json'));
    const jobs = (plan as { jobs?: unknown }).jobs;
    if (!Array.isArray(jobs)) throw new UserError(`${join(shown, 'plan.json')}: "jobs" is not an array; re-run \`bench run\``);
    return jobs
      .map((job) => (job as { dir?: unknown }).dir)
      .filter((dir): dir is string => typeof dir === 'string')
      .map((dir) => resolve(root, dir));
  }
  const entries = await readdir(root, { recursive: true });
  return entries
    .filter((entry) => entry === 'metrics.json' || entry.endsWith(`${sep}metrics.json`))
    .filter((entry) => !entry.split(sep).includes('checkpoint'))
    .map((entry) => dirname(join(root, entry)));
}

function parseJson(text: string, shown: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UserError(`${shown}: not valid JSON (${(err as Error).message}); delete it and re-run \`bench run\``);
  }
}

function numberRecord(value: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  if (value && typeof value === 'object') {
    for (const [key, v] of Object.entries(value)) if (typeof v === 'number' && Number.isFinite(v)) out[key] = v;
  }
  return out;
}

async function loadJobs(root: string, shown: string): Promise<JobResult[]> {
  const jobs: JobResult[] = [];
  for (const dir of await jobDirs(root, shown)) {
    const metricsPath = join(dir, 'metrics.json');
    // A planned job without metrics.json has not finished; it simply has no results yet.
    if (!existsSync(metricsPath)) continue;
    const shownMetrics = join(shown, relative(root, metricsPath));
    const raw = parseJson(await readText(metricsPath, shownMetrics), shownMetrics) as Record<string, unknown>;
    if (typeof raw.id !== 'string' || typeof raw.method !== 'string' || typeof raw.seed !== 'number') {
      throw new UserError(`${shownMetrics}: needs string "id", string "method" and number "seed"; re-run \`bench run\``);
    }
    const perClass: Record<string, Record<string, number>> = {};
    if (raw.perClass && typeof raw.perClass === 'object') {
      for (const [metric, classes] of Object.entries(raw.perClass)) perClass[metric] = numberRecord(classes);
    }
    const logPath = join(dir, 'log.csv');
    const configPath = join(dir, 'config.json');
    const config = existsSync(configPath) ? (parseJson(await readText(configPath, join(shown, relative(root, configPath))), join(shown, relative(root, configPath))) as Record<string, unknown>) : null;
    const dataset = config?.dataset as Record<string, unknown> | undefined;
    jobs.push({
      id: raw.id,
      stage: raw.stage === 'pretext' ? 'pretext' : 'downstream',
      method: raw.method,
      task: typeof raw.task === 'string' ? raw.task : null,
      protocol: typeof raw.protocol === 'string' ? raw.protocol : null,
      layer: typeof raw.layer === 'string' ? raw.layer : null,
      seed: raw.seed,
      backend: typeof raw.backend === 'string' ? raw.backend : '',
      datasetFormat: typeof dataset?.format === 'string' ? dataset.format : null,
      dir,
      summary: numberRecord(raw.summary),
      perClass,
      samples: Array.isArray(raw.samples) ? raw.samples.filter((s): s is string => typeof s === 'string').map((s) => resolve(dir, s)) : [],
      log: existsSync(logPath) ? readLog(await readText(logPath, join(shown, relative(root, logPath))), join(shown, relative(root, logPath))) : null,
    });
  }
  return jobs.sort((a, b) => compareMethods(a.method, b.method) || compareStrings(a.task ?? '', b.task ?? '') || a.seed - b.seed || compareStrings(a.id, b.id));
}

function readLog(text: string, shown: string): LogRow[] {
  const rows: LogRow[] = [];
  for (const record of parseCsv(text, shown)) {
    const step = numberOrNull(record.step);
    const loss = numberOrNull(record.loss);
    if (step === null || loss === null) continue;
    rows.push({
      step,
      loss,
      lossRec: numberOrNull(record.loss_rec),
      lossAdv: numberOrNull(record.loss_adv),
      lossD: numberOrNull(record.loss_d),
      imgPerSec: numberOrNull(record.img_per_s),
      elapsedSeconds: numberOrNull(record.elapsed_s),
    });
  }
  return rows;
}

// ---- Seeds -> mean ± std ----

export interface Aggregate extends MetricKey {
  mean: number;
  /** Sample standard deviation (n - 1); 0 when n < 2. */
  std: number;
  n: number;
  seeds: number[];
}

export function mean(values: readonly number[]): number {
  return values.reduce((s, v) => s + v, 0) / values.length;
}

export function sampleStd(values: readonly number[]): number {
  if (values.length < 2) return 0;
  const m = mean(values);
  return Math.sqrt(values.reduce((s, v) => s + (v - m) ** 2, 0) / (values.length - 1));
}

/** One Aggregate per result key (method, task, protocol, layer, metric), over seeds, in the report's stable order. */
export function aggregate(rows: readonly ResultRow[]): Map<string, Aggregate> {
  const groups = new Map<string, { key: MetricKey; values: number[]; seeds: number[] }>();
  for (const row of rows) {
    const key = { method: row.method, task: row.task, protocol: row.protocol, layer: row.layer, metric: row.metric };
    const id = keyOf(key);
    let group = groups.get(id);
    if (!group) groups.set(id, (group = { key, values: [], seeds: [] }));
    group.values.push(row.value);
    group.seeds.push(row.seed);
  }
  const out = new Map<string, Aggregate>();
  for (const [id, { key, values, seeds }] of groups) {
    out.set(id, { ...key, mean: mean(values), std: sampleStd(values), n: values.length, seeds: [...seeds].sort((a, b) => a - b) });
  }
  return out;
}
