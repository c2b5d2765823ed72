/** Dataset formats by name: a new format is one file calling registerDatasetFormat plus one line in ./index.ts. */
import { Registry } from '../../registry/registry.js';
import type { DatasetConfig } from '../config.js';
import type { DatasetFormatSpec, DatasetHandle } from './types.js';

export const DATASET_FORMATS = new Registry<DatasetFormatSpec>('dataset format', 'src/data/formats/index.ts');

export function registerDatasetFormat(spec: DatasetFormatSpec): DatasetFormatSpec {
  return DATASET_FORMATS.register(spec);
}

/** Opens a dataset entry through its format. */
export function openDataset(ds: DatasetConfig): Promise<DatasetHandle> {
  const { format, root, onBadSample, synthesize: _synthesize, ...config } = ds;
  return DATASET_FORMATS.get(format).open(root, { onBadSample, config });
}
