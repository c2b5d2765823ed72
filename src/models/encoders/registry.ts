/**
 * Encoders describe themselves: a new encoder is one file calling
 * registerEncoder plus one line in ./index.ts. Every encoder names its layers
 * from ENCODER_LAYERS, so transfer, fine-tuning and results work unchanged.
 */
import type * as tf from '@tensorflow/tfjs';
import { Registry, type ConfigFragment } from '../../registry/registry.js';
import type { ModelConfig } from '../config.js';

export interface EncoderSpec {
  name: string;
  /** One line for the schema's description of `encoder`. */
  description?: string;
  /** Fields of the experiment's `model` entry this encoder reads (besides encoder, inputSize, decoderWidths). */
  config: ConfigFragment;
  /** Applies the encoder's layers, named from ENCODER_LAYERS, to `input` ([S,S,3]); returns the last (pool5). */
  build(opts: { input: tf.SymbolicTensor; inputSize: number; seed: number; model: ModelConfig }): tf.SymbolicTensor;
  /**
   * The network to save from a trained encoder (image -> pool5) when its
   * training used layers that transfer should not see (e.g. BatchNorm folded
   * into the convs); absent, or returning the same model: saved as trained.
   */
  plain?(trained: tf.LayersModel, opts: { inputSize: number; model: ModelConfig }): tf.LayersModel;
}

export const ENCODERS = new Registry<EncoderSpec>('encoder', 'src/models/encoders/index.ts');

/** The encoder of a model entry that names none: the paper's. */
export const DEFAULT_ENCODER = 'alexnet';

export function registerEncoder(spec: EncoderSpec): EncoderSpec {
  return ENCODERS.register(spec);
}

/** What a pretext method saves of its trained encoder: the encoder's `plain` form (the caller disposes it if it is a new model). */
export function plainEncoder(trained: tf.LayersModel, model: ModelConfig): tf.LayersModel {
  const spec = ENCODERS.get(model.encoder ?? DEFAULT_ENCODER);
  return spec.plain ? spec.plain(trained, { inputSize: model.inputSize, model }) : trained;
}
