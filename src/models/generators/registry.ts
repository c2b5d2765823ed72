/**
 * Generators describe themselves: the network a pixel-reconstruction pretext
 * method (context encoder, autoencoder, random) trains, picked by the
 * experiment's `model.generator`. A new one is one file calling
 * registerGenerator plus one line in ./index.ts; the experiment schema, the
 * load-time checks, the pretext loop and the dry-run read these entries.
 */
import type * as tf from '@tensorflow/tfjs';
import { Registry, type ConfigFragment } from '../../registry/registry.js';
import type { ModelConfig } from '../config.js';

/** What a generator's pretext job trains. */
export interface GeneratorNetworks {
  /** Image in [-1, 1] -> image of the same size; only its `region` is a prediction. */
  generator: tf.LayersModel;
  /** Image -> pool5, sharing the generator's layers; null when the generator has no encoder transfer could read. */
  encoder: tf.LayersModel | null;
}

/** The discriminator of the joint adversarial loss and the part of a full-size image it judges. */
export interface Critic {
  model: tf.LayersModel;
  /** Full-size images (NHWC) -> the discriminator's input; called inside the caller's tidy. */
  patch(images: tf.Tensor4D): tf.Tensor4D;
}

export interface GeneratorSpec {
  name: string;
  /** One line for the schema's description of `generator`. */
  description?: string;
  /**
   * Fields of the experiment's `model` entry it reads (besides generator);
   * null: those of the model's encoder (the default generator is built on it).
   */
  config: ConfigFragment | null;
  /**
   * The pixels the generator predicts: the whole image, or the centre square
   * of half the side (the rest of its output is zero), which only centre
   * holes of at most a quarter of the area fit in.
   */
  region: 'image' | 'centre';
  /** Whether the channel-wise FC's dropout (a pretext entry's `dropout`) exists in it. */
  dropout: boolean;
  /**
   * Whether the pretext loop updates it (and its discriminator) with LeanAdam
   * (engine/lean-adam.ts), one variable at a time, instead of tf.train.adam,
   * whose temporaries overflow the wasm heap for weights this large.
   */
  leanAdam: boolean;
  /** Whether it holds an encoder (conv1..pool5) that the pretext job saves and transfer tasks read. */
  encoder: boolean;
  /** The name build() gives the generator model, which a saved one keeps: how a loaded generator is recognised. */
  modelName: string;
  /** `seed` is the job's weight seed. */
  build(opts: { model: ModelConfig; seed: number; dropout?: number }): GeneratorNetworks;
  critic(opts: { inputSize: number; seed: number }): Critic;
}

export const GENERATORS = new Registry<GeneratorSpec>('generator', 'src/models/generators/index.ts');

/** The generator of a model entry that names none: the paper's AlexNet encoder-decoder on `model.encoder`. */
export const DEFAULT_GENERATOR = 'encoder-decoder';

export function registerGenerator(spec: GeneratorSpec): GeneratorSpec {
  return GENERATORS.register(spec);
}

/** The generator a model entry trains. */
export function generatorOf(model: ModelConfig): GeneratorSpec {
  return GENERATORS.get(model.generator ?? DEFAULT_GENERATOR);
}

/** The registered generator a saved (or built) generator model is, by its name; undefined for one of no registered kind. */
export function generatorNamed(model: tf.LayersModel): GeneratorSpec | undefined {
  return GENERATORS.all().find((g) => g.modelName === model.name);
}

/** Largest hole fraction of a centre mask that stays inside a centre-only generator's prediction (its square of half the side). */
const CENTRE_HOLE_FRACTION = 0.25;

/**
 * Why the model's generator cannot fill holes of `kind` (covering
 * `holeFraction` of the image, for centre holes), as "field: message" for
 * the entry field `field`; null when it can.
 */
export function maskProblem(model: ModelConfig, field: string, kind: string, holeFraction = CENTRE_HOLE_FRACTION): string | null {
  const spec = generatorOf(model);
  if (spec.region !== 'centre') return null;
  const where = `the ${spec.name} generator (/model/generator)`;
  if (kind !== 'center') return `${field}: ${where} predicts only the centre square of half the image side, so it cannot fill "${kind}" holes; use "center"`;
  if (holeFraction > CENTRE_HOLE_FRACTION) {
    return `holeFraction: ${holeFraction} gives centre holes larger than the centre square of half the side that ${where} predicts; use at most ${CENTRE_HOLE_FRACTION}`;
  }
  return null;
}
