/**
 * Reads an experiment file, validates it against schema.json (every error,
 * each with its JSON path) and fills defaults, before any work starts.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { UserError } from '../errors.js';
import { checkExperiment } from './checks.js';
import { locateJsonError } from './json-syntax.js';
import { buildExperimentSchema, downstreamFields } from './schema.js';
import type { Experiment } from './types.js';

// verbose: errors carry the offending value and the schema around it, so a
// message can show what was given and which field names were allowed.
const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false, verbose: true });

/** The schema of the registries as they are now (tests may register more), compiled once per set of entries. */
let compiled: { text: string; validate: ReturnType<typeof ajv.compile> } | undefined;
function validator(): ReturnType<typeof ajv.compile> {
  const schema = buildExperimentSchema();
  const text = JSON.stringify(schema);
  if (compiled?.text !== text) compiled = { text, validate: ajv.compile({ ...schema, $id: undefined }) };
  return compiled.validate;
}

/** Edit distance (insert, delete, substitute, swap neighbours), for naming a likely typo. */
export function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** The allowed name closest to `name`, when it is close enough to be a typo of it. */
export function likelyTypo(name: string, allowed: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of allowed) {
    const distance = candidate.toLowerCase() === name.toLowerCase() ? 0 : editDistance(name, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

function given(err: ErrorObject): string {
  const text = JSON.stringify(err.data);
  return text === undefined || text.length > 60 ? '' : ` (got ${text})`;
}

function describe(err: ErrorObject): string {
  const path = err.instancePath || '/';
  if (err.keyword === 'additionalProperties') {
    const field = (err.params as { additionalProperty: string }).additionalProperty;
    const allowed = Object.keys((err.parentSchema as { properties?: object } | undefined)?.properties ?? {}).filter((k) => k !== '$schema');
    const typo = likelyTypo(field, allowed);
    return typo
      ? `${path}: unknown field "${field}"; did you mean "${typo}"?`
      : `${path}: unknown field "${field}"; allowed fields: ${allowed.join(', ')}`;
  }
  if (err.keyword === 'enum') {
    return `${path}: must be one of ${(err.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}${given(err)}`;
  }
  if (err.keyword === 'required') return `${path}: ${err.message ?? 'is invalid'}`;
  return `${path}: ${err.message ?? 'is invalid'}${given(err)}`;
}

/**
 * Validates a parsed experiment (filling defaults in place) and cross-checks
 * what the schema cannot (dataset keys, what tasks need of datasets and
 * pretext methods, result keys); returns every problem as "JSON path: message".
 */
export function validateExperiment(raw: unknown): string[] {
  // What the user wrote, before defaults fill it: some checks ask whether a field was given.
  const written = structuredClone(raw);
  const validate = validator();
  // An "if" error only says a registry branch failed; the branch's own errors say why.
  if (!validate(raw)) return (validate.errors ?? []).filter((e) => e.keyword !== 'if').map(describe);
  return checkExperiment(raw as Omit<Experiment, 'file'>, written as Omit<Experiment, 'file'>);
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
    const at = locateJsonError(text);
    throw new UserError(
      at
        ? `${file}:${at.line}:${at.column}: not valid JSON: ${at.message}; fix the syntax there`
        : `${file}: not valid JSON (${(err as Error).message}); fix the syntax`,
    );
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
    for (const field of downstreamFields(d.task).paths ?? []) {
      if (typeof d[field] === 'string') d[field] = resolve(base, d[field]);
    }
  }
  return { ...exp, downstream, file: path };
}
