/**
 * Reads an experiment file, validates it against schema.json (every error,
 * each with its JSON path) and fills defaults, before any work starts.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { Ajv, type ErrorObject } from 'ajv';
import { UserError } from '../errors.js';
import { locateJsonError } from './json-syntax.js';
import type { Experiment } from './types.js';

const require = createRequire(import.meta.url);
const schema = require('./schema.json') as object;

// verbose: errors carry the offending value and the schema around it, so a
// message can show what was given and which field names were allowed.
const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false, verbose: true });
const validate = ajv.compile(schema);

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

const ENCODER_ORDER = ['conv1', 'pool1', 'conv2', 'pool2', 'conv3', 'conv4', 'conv5', 'pool5'];

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
      const what = d.task === 'detection' ? 'object boxes (Annotations/*.xml)' : 'label maps (SegmentationClass/*.png)';
      problems.push(`/downstream/${i}/dataset: ${d.task} needs ${what}, which only datasets of format "voc" have; "${d.dataset ?? datasetNames[0]}" is format "${format}"`);
    }
    if (d.task === 'detection' && d.apMethod === 'sklearn') {
      problems.push(`/downstream/${i}/apMethod: "sklearn" is not defined for detection; use "voc07" or "area"`);
    }
    if (d.finetuneFrom !== undefined && !d.protocols.includes('finetune')) {
      problems.push(`/downstream/${i}/finetuneFrom: only the finetune protocol trains the encoder, and protocols is ${JSON.stringify(d.protocols)}; add "finetune" or remove finetuneFrom`);
    }
    // Detection always cuts the encoder at conv5, so only the other tasks' layer bounds fine-tuning.
    if (d.finetuneFrom !== undefined && d.task !== 'detection' && ENCODER_ORDER.indexOf(d.finetuneFrom) > ENCODER_ORDER.indexOf(d.layer)) {
      problems.push(`/downstream/${i}/finetuneFrom: "${d.finetuneFrom}" is above layer "${d.layer}", so nothing would be fine-tuned; pick a layer at or below "${d.layer}"`);
    }
  });
  for (const [key, ds] of Object.entries(exp.datasets)) {
    if (ds.synthesize && ds.format !== 'voc') {
      problems.push(`/datasets/${key}/synthesize: only datasets of format "voc" can be synthesized`);
    }
    const synth = ds.synthesize;
    if (synth && synth.size !== undefined && (synth.minSide !== undefined || synth.maxSide !== undefined)) {
      problems.push(`/datasets/${key}/synthesize: give either size (square images) or minSide/maxSide, not both`);
    }
    if (synth && (synth.minSide ?? 0) > (synth.maxSide ?? Infinity)) {
      problems.push(`/datasets/${key}/synthesize/minSide: ${synth.minSide} is larger than maxSide ${synth.maxSide}`);
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
    if (d.proposals) d.proposals = resolve(base, d.proposals);
    if (d.images) d.images = resolve(base, d.images);
  }
  return { ...exp, downstream, file: path };
}
