/** Experiment entries with the schema's defaults filled in, as the loader does, for tests that call a stage directly. */
import assert from 'node:assert/strict';
import { validateExperiment } from '../../src/experiment/load.js';
import type { DownstreamConfig, PretextConfig } from '../../src/experiment/types.js';

function validated(pretext: Partial<PretextConfig>, downstream: Partial<DownstreamConfig>[]): { pretext: PretextConfig[]; downstream: DownstreamConfig[] } {
  const exp = {
    name: 't',
    seeds: [1],
    datasets: { d: { format: 'voc', root: '.' } },
    model: {},
    pretext: [pretext],
    downstream,
  } as unknown as { pretext: PretextConfig[]; downstream: DownstreamConfig[] };
  assert.deepEqual(validateExperiment(exp), []);
  return exp;
}

/** A pretext entry (context-encoder unless `method` says otherwise) on dataset 'd'. */
export function pretextConfig(overrides: Partial<PretextConfig> = {}): PretextConfig {
  const [config] = validated({ method: 'context-encoder', ...overrides }, []).pretext;
  return { ...config, name: config.name ?? config.method, dataset: 'd' };
}

/** A downstream entry on dataset 'd'; `task` is required. */
export function downstreamConfig(overrides: Partial<DownstreamConfig> & Pick<DownstreamConfig, 'task'>): DownstreamConfig {
  const [config] = validated({ method: 'random' }, [overrides]).downstream;
  return { ...config, dataset: 'd' };
}
