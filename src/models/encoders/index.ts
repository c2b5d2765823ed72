/** Every encoder: a new one is one file (calling registerEncoder) plus one line here. */
import './alexnet.js';
import './alexnet-small.js';

export { DEFAULT_ENCODER, ENCODERS, plainEncoder, registerEncoder, type EncoderSpec } from './registry.js';
export { ENCODER_LAYERS, TRAINABLE_ENCODER_LAYERS, type EncoderLayer, type TrainableEncoderLayer } from './layers.js';
