// Public entry point: `import { ... } from 'context-encoder-bench/metrics'`.
export * from './voc-ap.js';
export * from './detection.js';
export * from './segmentation.js';
export * from './image-quality.js';
export * from './knn.js';
