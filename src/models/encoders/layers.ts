/**
 * The encoder's layer-name contract, written once: every encoder names its
 * layers from this list (input to output), and everything that picks a layer
 * (a downstream entry's `layer`, fine-tuning's `finetuneFrom`, the results'
 * `layer` column) takes its names and order from here.
 */
export const ENCODER_LAYERS = ['conv1', 'pool1', 'conv2', 'pool2', 'conv3', 'conv4', 'conv5', 'pool5'] as const;

export type EncoderLayer = (typeof ENCODER_LAYERS)[number];

/** The layers that hold weights (what fine-tuning can train from). */
export type TrainableEncoderLayer = Extract<EncoderLayer, `conv${string}`>;

export const TRAINABLE_ENCODER_LAYERS = ENCODER_LAYERS.filter((l): l is TrainableEncoderLayer => l.startsWith('conv'));
