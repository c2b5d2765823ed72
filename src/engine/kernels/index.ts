/**
 * Gradient kernels for tfjs-backend-wasm 4.22: Conv2DBackpropFilter and
 * UnsortedSegmentSum (tf.gather's gradient) are missing, Conv2DBackpropInput
 * is a naive loop (both convolution gradients here run on XNNPACK),
 * MaxPoolGrad gives wrong gradients for windows without a positive value, and
 * BatchMatMul is slow on transposed operands (every dense layer's gradient);
 * Tile (every BatchNorm gradient) and Sum/Mean over leading axes (BatchNorm
 * statistics, bias gradients) run per-element index decodes, and Identity
 * (every tensor a gradient tape saves) copies its input.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { makeBatchMatMulConfig } from './batch-mat-mul.js';
import { conv2DBackpropFilterConfig } from './conv2d-backprop-filter.js';
import { makeConv2DBackpropInputConfig } from './conv2d-backprop-input.js';
import { maxPoolGradConfig } from './max-pool-grad.js';
import { makeIdentityConfig } from './identity.js';
import { makeMeanConfig, makeSumConfig } from './reduce.js';
import { makeTileConfig } from './tile.js';
import { unsortedSegmentSumConfig } from './unsorted-segment-sum.js';

let configs: tf.KernelConfig[] | null = null;

/**
 * Registers the gradient kernels tfjs-backend-wasm 4.22 lacks, runs slowly or
 * gets wrong.
 * Idempotent; call before tf.setBackend('wasm') so their setup runs with it.
 */
export function registerWasmGradientKernels(): void {
  configs ??= [
    conv2DBackpropFilterConfig,
    makeConv2DBackpropInputConfig(tf.getKernel(tf.Conv2DBackpropInput, 'wasm')),
    unsortedSegmentSumConfig,
    maxPoolGradConfig,
    makeBatchMatMulConfig(tf.getKernel(tf.BatchMatMul, 'wasm')),
    makeTileConfig(tf.getKernel(tf.Tile, 'wasm')),
    makeSumConfig(tf.getKernel(tf.Sum, 'wasm')),
    makeMeanConfig(tf.getKernel(tf.Mean, 'wasm')),
    makeIdentityConfig(tf.getKernel(tf.Identity, 'wasm')),
  ];
  for (const config of configs) {
    const current = tf.getKernel(config.kernelName, 'wasm');
    if (current?.kernelFunc === config.kernelFunc) continue;
    if (current) tf.unregisterKernel(config.kernelName, 'wasm');
    tf.registerKernel(config);
  }
}
