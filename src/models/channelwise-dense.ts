/**
 * The paper's channel-wise fully-connected layer: each of the m feature maps
 * (h x w) gets its own dense (h*w) x (h*w) matrix, with no connections across
 * maps, so it costs m*(h*w)^2 weights where a full FC would cost m^2*(h*w)^2.
 */
import * as tf from '@tensorflow/tfjs';

type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;

export interface ChannelwiseDenseArgs extends LayerArgs {
  /** Seed of the kernel initialiser. */
  seed?: number;
  /**
   * Std of the Gaussian kernel init; default sqrt(1/(h*w)) (LeCun normal:
   * the layer is linear, so this keeps each map's scale).
   */
  stddev?: number;
}

function onlyShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
  return Array.isArray(inputShape[0]) ? (inputShape as tf.Shape[])[0] : (inputShape as tf.Shape);
}

export class ChannelwiseDense extends tf.layers.Layer {
  static className = 'ChannelwiseDense';
  private readonly seed?: number;
  private readonly stddev?: number;
  private kernel: tf.LayerVariable | null = null;
  private bias: tf.LayerVariable | null = null;

  constructor(args: ChannelwiseDenseArgs = {}) {
    super(args);
    this.seed = args.seed;
    this.stddev = args.stddev;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const [, h, w, m] = onlyShape(inputShape);
    if (h == null || w == null || m == null) {
      throw new Error(`ChannelwiseDense needs a fully known [batch, h, w, m] input shape, got ${JSON.stringify(inputShape)}`);
    }
    const area = h * w;
    // kernel[c][i][j] connects input position i of map c to output position j.
    this.kernel = this.addWeight(
      'kernel',
      [m, area, area],
      'float32',
      tf.initializers.randomNormal({ mean: 0, stddev: this.stddev ?? Math.sqrt(1 / area), seed: this.seed }),
    );
    this.bias = this.addWeight('bias', [m, 1, area], 'float32', tf.initializers.zeros());
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return onlyShape(inputShape);
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      const [batch, h, w, m] = x.shape;
      if (!this.kernel || !this.bias) throw new Error('ChannelwiseDense called before build');
      // One batched matmul over the map axis: [m, b, h*w] x [m, h*w, h*w].
      const maps = tf.transpose(tf.reshape(x, [batch, h * w, m]), [2, 0, 1]);
      const y = tf.add(tf.matMul(maps, this.kernel.read()), this.bias.read());
      return tf.reshape(tf.transpose(y, [1, 2, 0]), [batch, h, w, m]);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    const config: tf.serialization.ConfigDict = { ...super.getConfig() };
    if (this.seed !== undefined) config.seed = this.seed;
    if (this.stddev !== undefined) config.stddev = this.stddev;
    return config;
  }
}

tf.serialization.registerClass(ChannelwiseDense);
