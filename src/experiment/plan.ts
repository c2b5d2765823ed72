/**
 * Expands an experiment into jobs (pretext methods x downstream tasks x
 * protocols x seeds), each keyed by a hash of exactly the config that
 * determines its output, so an identical job is reused and a changed field
 * reruns only the jobs it touches.
 */
import { createHash } from 'node:crypto';
import type { DatasetConfig, DownstreamConfig, Experiment, ModelConfig, PretextConfig, ProtocolName } from './types.js';

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
  task: DownstreamConfig['task'];
  protocol: ProtocolName | null;
  /** Encoder layer whose features the task reads; null for tasks that read none (inpainting). */
  layer: string | null;
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

/** Fields that only change logging or checkpointing, not the numbers, stay out of the hash. */
function pretextKey(config: PretextConfig): Omit<PretextConfig, 'logEvery' | 'checkpointEvery' | 'name'> {
  const { logEvery: _logEvery, checkpointEvery: _checkpointEvery, name: _name, ...rest } = config;
  return rest;
}

/** Only the fields a task reads, with the protocol list narrowed to the job's protocol; checkpointing does not change the numbers. */
function downstreamKey(config: DownstreamConfig, protocol: ProtocolName | null): Record<string, unknown> {
  const { protocols: _protocols, checkpointEvery: _checkpointEvery, ...rest } = config;
  return { ...rest, protocol };
}

/** Tasks that train a head take protocols; inpainting only scores the decoder. */
export function protocolsOf(config: DownstreamConfig): (ProtocolName | null)[] {
  return config.task === 'inpainting' ? [null] : config.protocols;
}

/** Detection always reads conv5 (its RoI pooling is defined there); inpainting reads no encoder layer. */
function featureLayerOf(config: DownstreamConfig): string | null {
  if (config.task === 'inpainting') return null;
  return config.task === 'detection' ? 'conv5' : config.layer;
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
      for (const task of exp.downstream) {
        const taskDataset = exp.datasets[task.dataset];
        for (const protocol of protocolsOf(task)) {
          const dhash = contentHash({ stage: 'downstream', config: downstreamKey(task, protocol), dataset: taskDataset, seed, backend, pretext: hash });
          const ddir = `${task.task}/${config.name}${protocol ? `-${protocol}` : ''}-s${seed}-${dhash}`;
          jobs.push({
            stage: 'downstream',
            id: ddir,
            hash: dhash,
            method: config.name,
            task: task.task,
            protocol,
            layer: featureLayerOf(task),
            seed,
            dir: ddir,
            config: task,
            dataset: taskDataset,
            dependsOn: pretext.id,
          });
        }
      }
    }
  }
  return jobs;
}
