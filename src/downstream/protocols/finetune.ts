/** finetune: the encoder trains with the head (from `finetuneFrom` up to the layer the task reads), at a scaled learning rate. */
import { ENCODER_LAYERS, TRAINABLE_ENCODER_LAYERS, type EncoderLayer, type TrainableEncoderLayer } from '../../models/encoders/layers.js';
import type { DownstreamCommonConfig } from '../config.js';
import { registerProtocol } from './registry.js';

/** The entry's finetuneFrom (this protocol's field), else the first layer with weights. */
function from(config: DownstreamCommonConfig & { finetuneFrom?: TrainableEncoderLayer }): TrainableEncoderLayer {
  return config.finetuneFrom ?? TRAINABLE_ENCODER_LAYERS[0];
}

registerProtocol({
  name: 'finetune',
  description: 'the encoder is fine-tuned with the new head, as in the paper',
  config: {
    properties: {
      finetuneFrom: { enum: TRAINABLE_ENCODER_LAYERS, description: 'Train encoder layers from this one up (default: all).' },
      encoderLrScale: { type: 'number', minimum: 0, default: 0.1, description: 'Encoder lr = lr x this.' },
    },
  },
  trainedLayers: (config, layer) => ENCODER_LAYERS.slice(ENCODER_LAYERS.indexOf(from(config)), ENCODER_LAYERS.indexOf(layer) + 1),
  check(config, layer: EncoderLayer) {
    if (ENCODER_LAYERS.indexOf(from(config)) <= ENCODER_LAYERS.indexOf(layer)) return [];
    return [`finetuneFrom: "${from(config)}" is above layer "${layer}", so nothing would be fine-tuned; pick a layer at or below "${layer}"`];
  },
});
