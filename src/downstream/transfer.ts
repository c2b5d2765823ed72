/**
 * What every task that trains a head on encoder features shares: the
 * pretext encoder cut at a layer, with the variables the job's protocol
 * trains (src/downstream/protocols decides which layers), the checkpointed
 * loop and data-dependent rescaling (the optimiser: transfer-optimizer.ts).
 * The encoder always arrives as a checkpoint on disk.
 */
import * as tf from '@tensorflow/tfjs';
import { loadModel } from '../engine/checkpoint.js';
// Saved generators (and other encoders) name our custom layer classes; this registers them before loading.
import '../models/custom-layers.js';
import { ResumableLoop, type Stateful } from '../engine/resumable-loop.js';
import { UserError } from '../errors.js';
import { AdaptiveAveragePooling2D } from '../models/adaptive-pool.js';
import { ENCODER_LAYERS, type EncoderLayer } from '../models/encoders/layers.js';
import { isConv2DLayer } from '../models/relu-conv.js';
import type { DownstreamCommonConfig, TransferConfig } from './config.js';
import { probeGrid } from './probe-pooling.js';
import type { ProtocolSpec } from './protocols/registry.js';
import type { TransferOptimizer } from './transfer-optimizer.js';
import type { DownstreamJob } from './types.js';

export interface TransferEncoder {
  /** Image [S,S,3] in [-1, 1] -> the chosen layer's output (average-pooled when the protocol asks: ProtocolSpec.pooledDims). */
  model: tf.LayersModel;
  inputSize: number;
  /** [height, width, channels] of what `model` outputs: the chosen layer's output, pooled when the protocol asks. */
  featureShape: [number, number, number];
  /** [height, width, channels] of the chosen layer's output before any pooling. */
  layerShape: [number, number, number];
  /** Encoder variables the protocol trains (empty when it keeps the encoder fixed). */
  trainable: tf.Variable[];
  /** Whether the protocol trains the encoder; when not, its features can be computed once. */
  trainsEncoder: boolean;
}

/**
 * Loads the pretext encoder, cut at `layer`, with the variables the job's
 * protocol may train. `inputSize` re-applies the same (convolutional) layers
 * to a larger or smaller input, as Fast R-CNN and FCN run on bigger images
 * than the pretext crops; weights are shared, not copied.
 */
export async function loadTransferEncoder(job: DownstreamJob<DownstreamCommonConfig>, protocol: ProtocolSpec, layer: EncoderLayer, inputSize?: number): Promise<TransferEncoder> {
  const full = await loadModel(job.encoderDir);
  if (!full.layers.some((l) => l.name === layer)) {
    throw new UserError(`${job.encoderDir}: the encoder has no layer "${layer}"; use one of ${ENCODER_LAYERS.join(', ')}`);
  }
  const pretextSize = full.inputs[0].shape[1] as number;
  const size = inputSize ?? pretextSize;
  const input = tf.input({ shape: [size, size, 3] });
  let out = input;
  // The encoder is a chain (conv1 .. pool5): walk it until the chosen layer.
  for (const l of full.layers) {
    if (l.getClassName() === 'InputLayer') continue;
    out = l.apply(out) as tf.SymbolicTensor;
    if (l.name === layer) break;
  }
  const [, lh, lw, c] = out.shape as number[];
  const [h, w] = probeGrid(lh, lw, c, protocol.pooledDims?.(job.config) ?? 0);
  if (h !== lh || w !== lw) out = new AdaptiveAveragePooling2D({ name: `${layer}_probe_pool`, height: h, width: w }).apply(out) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: out });
  // The layers now belong to `model` too; releasing the loaded wrapper lets
  // model.dispose() free their weights when the job ends.
  full.dispose();
  const trained: string[] = protocol.trainedLayers(job.config, layer);
  const trainable = model.layers.filter((l) => trained.includes(l.name)).flatMap((l) => l.trainableWeights.map((v) => v.read() as tf.Variable));
  return { model, inputSize: size, featureShape: [h, w, c], layerShape: [lh, lw, c], trainable, trainsEncoder: trained.length > 0 };
}

/**
 * The checkpointed training loop of a transfer job: its checkpoint holds the
 * head, the encoder when the protocol trains it, both optimisers and
 * `streams`. Everything computed before training from the initial encoder
 * (calibration, feature statistics, frozen features) is recomputed on resume,
 * so call this once those are done and right before the first step.
 */
export async function startTransferLoop(
  job: DownstreamJob<TransferConfig>,
  encoder: TransferEncoder,
  optimizer: TransferOptimizer,
  head: { model: tf.LayersModel } | { variables: tf.Variable[] },
  streams: Record<string, Stateful>,
  imagesPerStep = job.config.batchSize,
): Promise<ResumableLoop> {
  const { config } = job;
  const { loop } = await ResumableLoop.start({
    label: `${config.task}/${job.protocol} on ${job.method}`,
    resume: job.resume,
    checkpointEvery: config.checkpointEvery,
    steps: config.steps,
    lr: config.lr,
    parts: {
      models: { ...('model' in head ? { head: head.model } : {}), ...(encoder.trainsEncoder ? { encoder: encoder.model } : {}) },
      variables: 'variables' in head ? { head: head.variables } : {},
      optimizers: optimizer.optimizers,
    },
    streams,
    imagesPerStep,
  });
  return loop;
}

/**
 * Data-dependent within-layer rescaling (Krähenbühl et al. 2016), which the
 * paper applies before transfer: each conv channel's weights and bias are
 * divided by the std of its pre-activation on `images`, so every channel
 * leaves its layer at unit scale. ReLU commutes with a positive scale, so a
 * layer's units fire as before for the same input; what changes is how much
 * each channel weighs in the next layer (and so, from there on, the deeper
 * activations), which otherwise reflects whatever scale pretext training or
 * initialisation happened to leave behind.
 */
export function rescaleWithinLayers(model: tf.LayersModel, images: tf.Tensor4D): void {
  let x: tf.Tensor = tf.clone(images);
  for (const layer of model.layers) {
    if (layer.getClassName() === 'InputLayer') continue;
    if (!isConv2DLayer(layer)) {
      const next = layer.apply(x) as tf.Tensor;
      x.dispose();
      x = next;
      continue;
    }
    const config = layer.getConfig() as { strides: [number, number]; padding: 'same' | 'valid' };
    const [kernel, bias] = layer.getWeights();
    const next = tf.tidy(() => {
      const pre = tf.conv2d(x as tf.Tensor4D, kernel as tf.Tensor4D, config.strides, config.padding).add(bias);
      const { variance } = tf.moments(pre, [0, 1, 2]);
      const scale = variance.add(1e-8).sqrt();
      layer.setWeights([kernel.div(scale), bias.div(scale)]);
      return pre.div(scale).relu();
    });
    x.dispose();
    x = next;
  }
  x.dispose();
}

/** Applies the rescaling when the task asks for it, on up to 64 calibration images (NHWC, the encoder's input size). */
export function calibrateEncoder(encoder: TransferEncoder, enabled: boolean, images: Float32Array, count: number): void {
  if (!enabled || count === 0) return;
  const size = encoder.inputSize;
  const n = Math.min(64, count);
  const x = tf.tensor4d(images.subarray(0, n * size * size * 3), [n, size, size, 3]);
  rescaleWithinLayers(encoder.model, x);
  x.dispose();
}
