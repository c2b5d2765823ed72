/** Library entry: the pieces a script can drive without the CLI, and the registries a plugin adds to (README, Extending). */
export { loadExperiment, validateExperiment } from './experiment/load.js';
export { buildExperimentSchema } from './experiment/schema.js';
export { runExperiment } from './experiment/run.js';
export { initBackend } from './engine/backend.js';
export { PRETEXT_METHODS, registerPretext } from './pretext/index.js';
export { DOWNSTREAM_TASKS, PROTOCOLS, registerProtocol, registerTask } from './downstream/index.js';
export { DATASET_FORMATS, registerDatasetFormat } from './data/formats/index.js';
export { ENCODER_LAYERS, ENCODERS, registerEncoder } from './models/encoders/index.js';
export { generateReport } from './report/index.js';
export { writeSyntheticVoc } from './data/synthetic.js';
export * as metrics from './metrics/index.js';
