/** Every downstream task: a new one is one file (calling registerTask) plus one line here. Protocols: ./protocols/index.ts. */
import './protocols/index.js';
import './classification.js';
import './detection.js';
import './segmentation.js';
import './inpainting.js';

export { DOWNSTREAM_TASKS, registerTask, type DownstreamContext, type DownstreamTaskSpec } from './registry.js';
export { PROTOCOLS, protocolsFor, registerProtocol, type ProtocolSpec } from './protocols/index.js';
export type { DownstreamJob, DownstreamOutcome } from './types.js';
