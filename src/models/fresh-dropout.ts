/**
 * Dropout with a fresh mask at every training step, seeded. tfjs's seeded
 * dropout (tf.layers.dropout({ seed })) draws the same mask at every call,
 * and an unseeded one breaks same-seed-same-numbers; here each call takes
 * its seed from a stream (Rng) that the training loop checkpoints, so masks
 * differ from step to step yet a run, and a resumed run, repeat exactly.
 * One mechanism for every model: the context encoder's channel-wise FC
 * (FreshDropout layer) and the detection head (freshDropout on a tensor).
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../engine/random.js';

type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;

/** Inverted dropout of `x` at `rate` with the next seed of `stream`. */
export function freshDropout(x: tf.Tensor, rate: number, stream: Rng): tf.Tensor {
  return tf.dropout(x, rate, undefined, stream.int(2147483647));
}

export interface FreshDropoutArgs extends LayerArgs {
  rate: number;
  /** Seeds the layer's mask stream. */
  seed: number;
}

export class FreshDropout extends tf.layers.Layer {
  static className = 'FreshDropout';
  readonly rate: number;
  private readonly seed: number;
  /** The mask stream; a training loop saves and restores it with its other streams. */
  readonly stream: Rng;

  constructor(args: FreshDropoutArgs) {
    super(args);
    this.rate = args.rate;
    this.seed = args.seed;
    this.stream = new Rng(args.seed);
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean }): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    // Inference passes the input through unchanged and draws nothing.
    return kwargs.training ? tf.tidy(() => freshDropout(x, this.rate, this.stream)) : tf.clone(x);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), rate: this.rate, seed: this.seed };
  }
}

tf.serialization.registerClass(FreshDropout);

/** The FreshDropout layers of a model (their streams belong in its training checkpoint). */
export function freshDropoutLayers(model: tf.LayersModel): FreshDropout[] {
  return model.layers.filter((l): l is FreshDropout => l instanceof FreshDropout);
}
