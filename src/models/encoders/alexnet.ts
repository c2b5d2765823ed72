/** AlexNet conv1-pool5 (models/alexnet.ts) as a registered encoder. */
import { alexnetFeatures, alexnetWidths } from '../alexnet.js';
import { registerEncoder } from './registry.js';

registerEncoder({
  name: 'alexnet',
  description: "AlexNet conv1-pool5 without LRN and groups, the paper's encoder",
  config: {
    properties: {
      widthMultiplier: { type: 'number', exclusiveMinimum: 0, maximum: 4, default: 1, description: "Scales AlexNet's 96-256-384-384-256 channel widths." },
    },
  },
  build: ({ input, inputSize, seed, model }) => alexnetFeatures(input, { inputSize, widths: alexnetWidths(model.widthMultiplier as number), seed }),
});
