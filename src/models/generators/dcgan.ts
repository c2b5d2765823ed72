/**
 * The semantic-inpainting context encoder of Table 1 (the reference code's
 * train.lua, models/dcgan.ts): a size x size image -> its size/2 x size/2
 * centre through a `bottleneck`-unit 1x1 code. The saved generator pads
 * that centre with zeros to the full size, so it maps an image to an image
 * of the same size like every generator, and the masks, losses and scorers
 * (which only read the hole and its band, inside the centre) work unchanged.
 * The discriminator judges the size/2 centre, as in train.lua. It has no
 * AlexNet encoder: transfer tasks cannot read it.
 */
import * as tf from '@tensorflow/tfjs';
import { buildDiscriminator, inpaintingGeneratorLayers } from '../dcgan.js';
import { registerGenerator } from './registry.js';

const MODEL_NAME = 'dcgan_context_encoder';

/** Input sides the generator takes (powers of two; train.lua: 128). */
const SIZES = [16, 32, 64, 128, 256, 512];

registerGenerator({
  name: 'dcgan',
  description: "Table 1's semantic-inpainting network (train.lua): 4x4 stride-2 convs to a 1x1 bottleneck, up-convolutions to the centre of half the side; no encoder for transfer",
  config: {
    properties: {
      // Replaces the common inputSize field for this generator: its own sizes and default.
      inputSize: { enum: SIZES, default: 128, description: 'Input side in pixels, a power of two (train.lua: 128); the generator predicts the centre of half this side.' },
      bottleneck: { type: 'integer', minimum: 1, default: 4000, description: "Channels of the 1x1 bottleneck (train.lua's nBottleneck; 4000 in the reference README's Paris StreetView command)." },
    },
  },
  modelName: MODEL_NAME,
  region: 'centre',
  // The bottleneck conv and the first up-convolution hold 131 MB each at 4000 units.
  leanAdam: true,
  dropout: false,
  encoder: false,
  build({ model, seed }) {
    const size = model.inputSize;
    const input = tf.input({ shape: [size, size, 3], name: 'context' });
    const centre = inpaintingGeneratorLayers(input, { size, bottleneck: model.bottleneck as number, seed });
    const output = tf.layers.zeroPadding2d({ name: 'centre_to_image', padding: size / 4 }).apply(centre) as tf.SymbolicTensor;
    return { generator: tf.model({ inputs: input, outputs: output, name: MODEL_NAME }), encoder: null };
  },
  critic({ inputSize, seed }) {
    const q = inputSize / 4;
    return {
      model: buildDiscriminator({ size: inputSize / 2, seed }),
      patch: (images) => tf.slice(images, [0, q, q, 0], [-1, 2 * q, 2 * q, -1]),
    };
  },
});
