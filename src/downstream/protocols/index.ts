/** Every transfer protocol: a new one is one file (calling registerProtocol) plus one line here. */
import './frozen.js';
import './finetune.js';
import './knn.js';
import './linear.js';

export { PROTOCOLS, protocolsFor, registerProtocol, type ProtocolSpec } from './registry.js';
