/** Library entry: the pieces a script can drive without the CLI. */
export { loadExperiment, validateExperiment } from './experiment/load.js';
export { runExperiment } from './experiment/run.js';
export { initBackend } from './engine/backend.js';
export { PRETEXT_METHODS } from './pretext/index.js';
export { DOWNSTREAM_TASKS } from './downstream/index.js';
export { generateReport } from './report/index.js';
export { writeSyntheticVoc } from './data/synthetic.js';
export * as metrics from './metrics/index.js';
