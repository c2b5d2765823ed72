/**
 * `bench check`: compare the latest results with a baseline file.
 *
 * A baseline holds metric expectations (mean over seeds of one (method, task,
 * protocol, metric) with a tolerance and a direction) and orderings ("context
 * encoder beats random init on classification mAP").
 *
 * Tolerance rule (makeBaseline): tolerance = max(k · s, 1% of |mean|, 0.001),
 * where s is the sample standard deviation over seeds (n - 1) and k = 3 by
 * default. A seed-to-seed spread of k·s around the mean of the same seeds is
 * wide enough that a rerun with other hardware or library versions does not
 * flap, and narrow enough that a real regression (a metric that moved by more
 * than the spread of three seeds) fails. A spread needs at least 3 seeds;
 * with fewer the floor alone is used and a warning says so.
 *
 * Orderings are derived for the transfer tasks' headline metrics (and
 * classification accuracy, and inpainting L2 against the mean-colour fill)
 * only where they hold clearly in the current results: the better mean beats
 * the worse by more than sqrt(s_better² + s_worse²).
 */
import { readFile } from 'node:fs/promises';
import { Ajv } from 'ajv';
import { UserError } from '../errors.js';
import { aggregate, compareKeys, keyOf, type Aggregate, type ExperimentResults, type ResultRow } from './load.js';
import { compareMethods, sortedUnique, TRANSFER_TASKS } from './names.js';
import { writeJsonAtomic } from '../fs/atomic.js';

export type Direction = 'higher' | 'lower';

export interface BaselineMetric {
  method: string;
  task: string;
  protocol: string;
  /** Encoder layer; absent matches the one layer the results have for the rest of the key. */
  layer?: string;
  metric: string;
  /** Mean over seeds when the baseline was made. */
  expected: number;
  tolerance: number;
  direction: Direction;
  /** Seeds behind `expected`, for the reader. */
  seeds?: number;
}

export interface BaselineOrdering {
  task: string;
  protocol: string;
  /** As in BaselineMetric. */
  layer?: string;
  metric: string;
  better: string;
  worse: string;
  /** 'lower': better means a lower mean (L2 errors); absent: higher. */
  direction?: Direction;
  /** The better mean must beat the worse by more than this (default 0). */
  margin?: number;
}

export interface Baseline {
  experiment: string;
  /** The rule that set the tolerances, for the reader. */
  rule?: string;
  metrics: BaselineMetric[];
  orderings: BaselineOrdering[];
}

export const BASELINE_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  type: 'object',
  additionalProperties: false,
  required: ['experiment', 'metrics', 'orderings'],
  properties: {
    experiment: { type: 'string', minLength: 1 },
    rule: { type: 'string' },
    metrics: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['method', 'task', 'protocol', 'metric', 'expected', 'tolerance', 'direction'],
        properties: {
          method: { type: 'string', minLength: 1 },
          task: { type: 'string', minLength: 1 },
          protocol: { type: 'string' },
          layer: { type: 'string' },
          metric: { type: 'string', minLength: 1 },
          expected: { type: 'number' },
          tolerance: { type: 'number', minimum: 0 },
          direction: { enum: ['higher', 'lower'] },
          seeds: { type: 'integer', minimum: 1 },
        },
      },
    },
    orderings: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['task', 'protocol', 'metric', 'better', 'worse'],
        properties: {
          task: { type: 'string', minLength: 1 },
          protocol: { type: 'string' },
          layer: { type: 'string' },
          metric: { type: 'string', minLength: 1 },
          better: { type: 'string', minLength: 1 },
          worse: { type: 'string', minLength: 1 },
          direction: { enum: ['higher', 'lower'] },
          margin: { type: 'number', minimum: 0 },
        },
      },
    },
  },
} as const;

const validateBaseline = new Ajv({ allErrors: true, strict: true }).compile<Baseline>(BASELINE_SCHEMA);

export function parseBaseline(text: string, shownPath: string): Baseline {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new UserError(`${shownPath}: not valid JSON (${(err as Error).message}); fix it or rewrite it with \`bench check --update\``);
  }
  if (!validateBaseline(value)) {
    const first = validateBaseline.errors?.[0];
    const where = first?.instancePath ? first.instancePath.slice(1).replace(/\//g, '.') : '(root)';
    throw new UserError(`${shownPath}: ${where} ${first?.message ?? 'is invalid'}; fix it or rewrite it with \`bench check --update\``);
  }
  return value;
}

export async function readBaseline(path: string): Promise<Baseline> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new UserError(`${path}: baseline not found; create it from the current results with \`bench check <experiment.json> --baseline ${path} --update\``);
  }
  return parseBaseline(text, path);
}

export async function writeBaseline(path: string, baseline: Baseline): Promise<void> {
  await writeJsonAtomic(path, baseline);
}

// ---- Making a baseline ----

/** Timings and throughput depend on the machine, not on the code: never gated. */
const UNGATED = /seconds|_s$|per_s|imgpersec|wall/i;
const LOWER_IS_BETTER = /(^|_)(l1|l2|loss|mse|error)(_|$)/i;

export function metricDirection(metric: string): Direction {
  return LOWER_IS_BETTER.test(metric) ? 'lower' : 'higher';
}

export interface MakeBaselineOptions {
  /** Tolerance = k · std over seeds (before the floor). Default 3. */
  k?: number;
  /** Seeds needed before the std counts. Default 3. */
  minSeeds?: number;
}

export function toleranceFloor(expected: number): number {
  return Math.max(0.01 * Math.abs(expected), 0.001);
}

export function makeBaseline(results: ExperimentResults, opts: MakeBaselineOptions = {}): { baseline: Baseline; warnings: string[] } {
  const k = opts.k ?? 3;
  const minSeeds = opts.minSeeds ?? 3;
  const stats = aggregate(results.rows);
  const warnings: string[] = [];
  const metrics: BaselineMetric[] = [];
  for (const s of stats.values()) {
    if (UNGATED.test(s.metric)) continue;
    const floor = toleranceFloor(s.mean);
    if (s.n < minSeeds) {
      warnings.push(`${describe(s)}: ${s.n} seed${s.n === 1 ? '' : 's'} (< ${minSeeds}): tolerance is the floor ${round(floor)}, not a measured spread; run more seeds`);
    }
    metrics.push({
      method: s.method,
      task: s.task,
      protocol: s.protocol,
      ...(s.layer ? { layer: s.layer } : {}),
      metric: s.metric,
      expected: round(s.mean),
      tolerance: round(s.n >= minSeeds ? Math.max(k * s.std, floor) : floor),
      direction: metricDirection(s.metric),
      seeds: s.n,
    });
  }
  return {
    baseline: {
      experiment: results.experiment,
      rule: `tolerance = max(${k} x sample std over seeds, 1% of |mean|, 0.001); std needs >= ${minSeeds} seeds, else the floor alone; orderings kept where mean difference > sqrt(std_a^2 + std_b^2)`,
      metrics,
      orderings: deriveOrderings(aggregate(withMeanFill(results.rows))),
    },
    warnings,
  };
}

/** Baselines are diffed by people: 6 significant digits is plenty and keeps the file readable. */
function round(value: number): number {
  return Number(value.toPrecision(6));
}

/**
 * The inpainting task scores the mean-colour fill beside every method
 * (`baseline_l1`, `baseline_l2`, `baseline_psnr`: the same images and holes
 * for every method of a seed). Orderings name it as a method of its own.
 */
export const MEAN_FILL = 'mean-fill';

/** `rows` plus the mean-colour fill's inpainting scores as rows of method MEAN_FILL (one per seed and metric). */
function withMeanFill(rows: readonly ResultRow[]): ResultRow[] {
  const fill = new Map<string, ResultRow>();
  for (const row of rows) {
    if (row.task !== 'inpainting' || !row.metric.startsWith('baseline_')) continue;
    const metric = row.metric.slice('baseline_'.length);
    const id = `${row.seed}\u0000${row.layer}\u0000${metric}`;
    if (!fill.has(id)) fill.set(id, { ...row, method: MEAN_FILL, metric });
  }
  return [...rows, ...fill.values()];
}

/** Metrics orderings are derived on: the transfer tasks' headline metrics, classification accuracy (the probes' usual number), inpainting L2. */
const ORDERED_METRICS: readonly { task: string; metric: string }[] = [
  ...TRANSFER_TASKS,
  { task: 'classification', metric: 'accuracy' },
  { task: 'inpainting', metric: 'l2' },
];

function orderingPairs(methods: string[]): [string, string][] {
  const pairs: [string, string][] = [];
  if (methods.includes('random')) for (const m of methods) if (m !== 'random') pairs.push([m, 'random']);
  if (methods.includes('autoencoder')) for (const m of methods) if (m.startsWith('context-encoder')) pairs.push([m, 'autoencoder']);
  // A trained inpainter must fill holes better than their mean colour.
  if (methods.includes(MEAN_FILL)) for (const m of methods) if (m !== MEAN_FILL && m !== 'random') pairs.push([m, MEAN_FILL]);
  return pairs;
}

function deriveOrderings(stats: Map<string, Aggregate>): BaselineOrdering[] {
  const orderings: BaselineOrdering[] = [];
  const all = [...stats.values()];
  for (const { task, metric } of ORDERED_METRICS) {
    const direction = metricDirection(metric);
    const here = all.filter((s) => s.task === task && s.metric === metric);
    const variants = [...new Map(here.map((s) => [`${s.protocol}\u0000${s.layer}`, { protocol: s.protocol, layer: s.layer }])).values()].sort(
      (a, b) => compareKeys({ ...a, method: '', task, metric }, { ...b, method: '', task, metric }),
    );
    for (const { protocol, layer } of variants) {
      const methods = sortedUnique(here.filter((s) => s.protocol === protocol && s.layer === layer).map((s) => s.method), compareMethods);
      for (const [better, worse] of orderingPairs(methods)) {
        const b = stats.get(keyOf({ method: better, task, protocol, layer, metric }))!;
        const w = stats.get(keyOf({ method: worse, task, protocol, layer, metric }))!;
        const lead = direction === 'lower' ? w.mean - b.mean : b.mean - w.mean;
        if (lead > Math.hypot(b.std, w.std)) orderings.push({ task, protocol, ...(layer ? { layer } : {}), metric, better, worse, ...(direction === 'lower' ? { direction } : {}) });
      }
    }
  }
  return orderings;
}

// ---- Checking ----

export type CheckStatus = 'ok' | 'regressed' | 'missing';

export interface CheckRow {
  kind: 'metric' | 'ordering';
  /** e.g. "context-encoder classification/finetune mAP" or "context-encoder > random: classification/finetune mAP". */
  check: string;
  expected: string;
  actual: string;
  allowed: string;
  status: CheckStatus;
}

function variant(k: { task: string; protocol: string; layer?: string }): string {
  return `${k.task}${k.protocol ? `/${k.protocol}` : ''}${k.layer ? `@${k.layer}` : ''}`;
}

function describe(k: { method: string; task: string; protocol: string; layer?: string; metric: string }): string {
  return `${k.method} ${variant(k)} ${k.metric}`;
}

/**
 * The aggregate a baseline entry names: by its full key when it gives a
 * layer, else the one result that matches the rest of its key (baselines
 * written before results had layers name none).
 */
function lookup(stats: Map<string, Aggregate>, k: { method: string; task: string; protocol: string; layer?: string; metric: string }): Aggregate | undefined {
  if (k.layer !== undefined) return stats.get(keyOf({ ...k, layer: k.layer }));
  const matches = [...stats.values()].filter((s) => s.method === k.method && s.task === k.task && s.protocol === k.protocol && s.metric === k.metric);
  return matches.length === 1 ? matches[0] : undefined;
}

function show(value: number): string {
  return String(round(value));
}

export function checkAgainstBaseline(results: ExperimentResults, baseline: Baseline): { rows: CheckRow[]; failed: boolean } {
  const stats = aggregate(withMeanFill(results.rows));
  const rows: CheckRow[] = [];
  const sorted = [...baseline.metrics].sort((a, b) => compareKeys({ ...a, layer: a.layer ?? '' }, { ...b, layer: b.layer ?? '' }));
  for (const m of sorted) {
    const s = lookup(stats, m);
    const allowed = m.direction === 'higher' ? `>= ${show(m.expected - m.tolerance)}` : `<= ${show(m.expected + m.tolerance)}`;
    const base = { kind: 'metric' as const, check: describe(m), expected: `${show(m.expected)} ± ${show(m.tolerance)}`, allowed };
    if (!s) {
      rows.push({ ...base, actual: '(not in results)', status: 'missing' });
      continue;
    }
    const ok = m.direction === 'higher' ? s.mean >= m.expected - m.tolerance : s.mean <= m.expected + m.tolerance;
    rows.push({ ...base, actual: `${show(s.mean)} (${s.n} seed${s.n === 1 ? '' : 's'})`, status: ok ? 'ok' : 'regressed' });
  }
  for (const o of baseline.orderings) {
    const margin = o.margin ?? 0;
    const b = lookup(stats, { ...o, method: o.better });
    const w = lookup(stats, { ...o, method: o.worse });
    const lower = o.direction === 'lower';
    const base = {
      kind: 'ordering' as const,
      check: `${o.better} ${lower ? '<' : '>'} ${o.worse}: ${variant(o)} ${o.metric}`,
      expected: `difference > ${show(margin)}`,
      allowed: `> ${show(margin)}`,
    };
    if (!b || !w) {
      rows.push({ ...base, actual: `(${!b ? o.better : o.worse} not in results)`, status: 'missing' });
      continue;
    }
    const diff = lower ? w.mean - b.mean : b.mean - w.mean;
    const shown = lower ? `${show(w.mean)} - ${show(b.mean)}` : `${show(b.mean)} - ${show(w.mean)}`;
    rows.push({ ...base, actual: `${shown} = ${show(diff)}`, status: diff > margin ? 'ok' : 'regressed' });
  }
  return { rows, failed: rows.some((r) => r.status !== 'ok') };
}

/** A plain-text table, columns padded, for a terminal or a CI log. */
export function formatCheckTable(rows: readonly CheckRow[]): string {
  const header = ['status', 'check', 'baseline', 'allowed', 'current'];
  const body = rows.map((r) => [r.status.toUpperCase(), r.check, r.expected, r.allowed, r.actual]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n') + '\n';
}
