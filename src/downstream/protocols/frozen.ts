/** frozen: the pretext encoder's weights stay fixed; only a freshly initialised head trains on a layer's output. */
import { registerProtocol } from './registry.js';

registerProtocol({
  name: 'frozen',
  description: 'the pre-trained encoder is kept fixed and only the new head is trained',
  config: { properties: {} },
  trainedLayers: () => [],
});
