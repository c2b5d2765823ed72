/** Every dataset format: a new one is one file plus one line here. */
import './voc.js';
import './folder.js';
import './cifar10.js';

export { DATASET_FORMATS, openDataset, registerDatasetFormat } from './registry.js';
export type { DatasetCapabilities, DatasetFormatSpec, DatasetHandle, ListOptions, SampleRef } from './types.js';
