/**
 * Reads an experiment file, validates it against schema.json (every error,
 * each with its JSON path) and fills defaults, before any work starts.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { Ajv, type ErrorObject } from 'ajv';
import { UserError } from '../errors.js';
import type { Experiment } from './types.js';

const require = createRequire(import.meta.url);
const schema = require('./schema.json') as object;

const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false });
const validate = ajv.compile(schema);

function describe(err: ErrorObject): string {
  const path = err.instancePath || '/';
  if (err.keyword === 'additionalProperties') {
    return `${path}: unknown field "${(err.params as { additionalProperty: string }).additionalProperty}"`;
  }
  if (err.keyword === 'enum') {
    return `${path}: must be one of ${(err.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
  }
  return `${path}: ${err.message ?? 'is invalid'}`;
}

/** Validates a parsed experiment; returns the list of problems as "JSON path: message". */
export function validateExperiment(raw: unknown): string[] {
  if (!validate(raw)) return (validate.errors ?? []).map(describe);
  const exp = raw as Omit<Experiment, 'file'>;
  const problems: string[] = [];
  const datasetNames = Object.keys(exp.datasets);
  const names = new Set<string>();
  exp.pretext.forEach((p, i) => {
    const name = p.name ?? p.method;
    if (names.has(name)) problems.push(`/pretext/${i}/name: "${name}" is used twice; give each entry its own name`);
    names.add(name);
    if (p.dataset !== undefined && !datasetNames.includes(p.dataset)) {
      problems.push(`/pretext/${i}/dataset: "${p.dataset}" is not a key of /datasets (${datasetNames.join(', ')})`);
    }
  });
  (exp.downstream ?? []).forEach((d, i) => {
    if (d.dataset !== undefined && !datasetNames.includes(d.dataset)) {
      problems.push(`/downstream/${i}/dataset: "${d.dataset}" is not a key of /datasets (${datasetNames.join(', ')})`);
    }
    const format = exp.datasets[d.dataset ?? datasetNames[0]]?.format;
    if ((d.task === 'detection' || d.task === 'segmentation') && format !== 'voc') {
      problems.push(`/downstream/${i}/dataset: ${d.task} needs a dataset of format "voc"`);
    }
  });
  for (const [key, ds] of Object.entries(exp.datasets)) {
    if (ds.synthesize && ds.format !== 'voc') {
      problems.push(`/datasets/${key}/synthesize: only datasets of format "voc" can be synthesized`);
    }
  }
  return problems;
}

/** Loads, validates and completes an experiment file; throws a UserError listing every problem. */
export async function loadExperiment(file: string): Promise<Experiment> {
  const path = resolve(file);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new UserError(`${file}: experiment file not found; pass the path of a JSON experiment such as experiments/smoke.json`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new UserError(`${file}: not valid JSON (${(err as Error).message}); fix the syntax`);
  }
  const problems = validateExperiment(raw);
  if (problems.length > 0) {
    throw new UserError(problems.map((p) => `${file} ${p}`).join('\n'));
  }
  const exp = raw as Omit<Experiment, 'file'>;
  const base = dirname(path);
  const firstDataset = Object.keys(exp.datasets)[0];
  for (const ds of Object.values(exp.datasets)) ds.root = resolve(base, ds.root);
  for (const p of exp.pretext) {
    p.name = p.name ?? p.method;
    p.dataset = p.dataset ?? firstDataset;
  }
  const downstream = exp.downstream ?? [];
  for (const d of downstream) {
    d.dataset = d.dataset ?? firstDataset;
    if (d.proposals) d.proposals = resolve(base, d.proposals);
    if (d.images) d.images = resolve(base, d.images);
  }
  return { ...exp, downstream, file: path };
}
