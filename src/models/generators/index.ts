/** Every generator: a new one is one file (calling registerGenerator) plus one line here. */
import './encoder-decoder.js';
import './dcgan.js';

export { DEFAULT_GENERATOR, GENERATORS, generatorNamed, generatorOf, maskProblem, registerGenerator, type Critic, type GeneratorNetworks, type GeneratorSpec } from './registry.js';
