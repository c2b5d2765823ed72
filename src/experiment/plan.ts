/**
 * Expands an experiment into jobs (pretext methods x downstream tasks x
 * protocols x seeds), each keyed by a hash of exactly the config that
 * determines its output, so an identical job is reused and a changed field
 * reruns only the jobs it touches.
 */
import { createHash } from 'node:crypto';
import { DEFAULT_LAYER, DOWNSTREAM_UNKEYED_FIELDS } from '../downstream/config.js';
import { DOWNSTREAM_TASKS, PROTOCOLS } from '../downstream/index.js';
import type { EncoderLayer } from '../models/encoders/layers.js';
import { PRETEXT_UNKEYED_FIELDS } from '../pretext/config.js';
import type { DatasetConfig, DownstreamConfig, Experiment, ModelConfig, PretextConfig } from './types.js';

export interface PlannedPretext {
  stage: 'pretext';
  id: string;
  hash: string;
  method: string;
  seed: number;
  /** Relative to results/<experiment>/. */
  dir: string;
  config: PretextConfig;
  model: ModelConfig;
  dataset: DatasetConfig;
}

export interface PlannedDownstream {
  stage: 'downstream';
  id: string;
  hash: string;
  method: string;
  task: string;
  /** The job's protocol; null for tasks that train none (inpainting). */
  protocol: string | null;
  /** Encoder layer whose features the task reads; null for tasks that read none (inpainting). */
  layer: EncoderLayer | null;
  seed: number;
  dir: string;
  config: DownstreamConfig;
  dataset: DatasetConfig;
  dependsOn: string;
}

export type PlannedJob = PlannedPretext | PlannedDownstream;

/** JSON with sorted keys, so the hash does not depend on field order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function contentHash(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex').slice(0, 12);
}

function without(config: Record<string, unknown>, fields: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(config).filter(([k]) => !fields.includes(k)));
}

/** Fields that only change logging, checkpointing or the label stay out of the hash. */
function pretextKey(config: PretextConfig): Record<string, unknown> {
  return without(config, PRETEXT_UNKEYED_FIELDS);
}

/** One downstream entry's jobs: one per protocol (tasks that train through one) and per layer (tasks that read a chosen one). */
export interface EntryJob {
  protocol: string | null;
  layer: EncoderLayer | null;
  /** JSON path of what asked for this job, for messages. */
  path: string;
}

export function expandEntry(config: DownstreamConfig, index: number): EntryJob[] {
  const task = DOWNSTREAM_TASKS.get(config.task);
  const at = `/downstream/${index}`;
  const layers: { layer: EncoderLayer | null; path: string }[] =
    task.layer === 'chosen'
      ? config.layers
        ? config.layers.map((layer, j) => ({ layer, path: `${at}/layers/${j}` }))
        : [{ layer: config.layer ?? DEFAULT_LAYER, path: at }]
      : [{ layer: task.layer, path: at }];
  const protocols = task.usesProtocols ? config.protocols! : [null];
  return protocols.flatMap((protocol) => layers.map(({ layer, path }) => ({ protocol, layer, path })));
}

/**
 * The fields a job reads: the entry's, without those only other protocols
 * declare (a field two protocols share, like knn's and linear's probeDims,
 * stays in both's keys), with the job's own protocol and layer;
 * checkpointing does not change the numbers.
 */
function downstreamKey(config: DownstreamConfig, job: EntryJob): Record<string, unknown> {
  const own = job.protocol === null ? [] : Object.keys(PROTOCOLS.get(job.protocol).config.properties);
  const otherProtocols = PROTOCOLS.all()
    .filter((p) => p.name !== job.protocol)
    .flatMap((p) => Object.keys(p.config.properties))
    .filter((f) => !own.includes(f));
  return { ...without(config, [...DOWNSTREAM_UNKEYED_FIELDS, ...otherProtocols]), protocol: job.protocol, layer: job.layer };
}

export function makePlan(exp: Experiment, backend: string): PlannedJob[] {
  const jobs: PlannedJob[] = [];
  for (const seed of exp.seeds) {
    for (const config of exp.pretext) {
      const dataset = exp.datasets[config.dataset];
      const hash = contentHash({ stage: 'pretext', config: pretextKey(config), model: exp.model, dataset, seed, backend });
      const dir = `pretext/${config.name}-s${seed}-${hash}`;
      const pretext: PlannedPretext = { stage: 'pretext', id: dir, hash, method: config.name, seed, dir, config, model: exp.model, dataset };
      jobs.push(pretext);
      exp.downstream.forEach((task, index) => {
        const taskDataset = exp.datasets[task.dataset];
        const several = (task.layers?.length ?? 0) > 1;
        for (const job of expandEntry(task, index)) {
          const dhash = contentHash({ stage: 'downstream', config: downstreamKey(task, job), dataset: taskDataset, seed, backend, pretext: hash });
          const label = `${config.name}${job.protocol ? `-${job.protocol}` : ''}${several && job.layer ? `-${job.layer}` : ''}`;
          const ddir = `${task.task}/${label}-s${seed}-${dhash}`;
          jobs.push({
            stage: 'downstream',
            id: ddir,
            hash: dhash,
            method: config.name,
            task: task.task,
            protocol: job.protocol,
            layer: job.layer,
            seed,
            dir: ddir,
            config: task,
            dataset: taskDataset,
            dependsOn: pretext.id,
          });
        }
      });
    }
  }
  return jobs;
}
