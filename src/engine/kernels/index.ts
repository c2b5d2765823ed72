/**
 * Gradient kernels for tfjs-backend-wasm 4.22, built on its fast XNNPACK
 * forward convolution: Conv2DBackpropFilter and UnsortedSegmentSum (tf.gather's
 * gradient) are missing in wasm, and its Conv2DBackpropInput is a naive loop.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { conv2DBackpropFilterConfig } from './conv2d-backprop-filter.js';
import { makeConv2DBackpropInputConfig } from './conv2d-backprop-input.js';
import { unsortedSegmentSumConfig } from './unsorted-segment-sum.js';

let configs: tf.KernelConfig[] | null = null;

/**
 * Registers the gradient kernels tfjs-backend-wasm 4.22 lacks or runs slowly.
 * Idempotent; call before tf.setBackend('wasm') so their setup runs with it.
 */
export function registerWasmGradientKernels(): void {
  configs ??= [
    conv2DBackpropFilterConfig,
    makeConv2DBackpropInputConfig(tf.getKernel(tf.Conv2DBackpropInput, 'wasm')),
    unsortedSegmentSumConfig,
  ];
  for (const config of configs) {
    const current = tf.getKernel(config.kernelName, 'wasm');
    if (current?.kernelFunc === config.kernelFunc) continue;
    if (current) tf.unregisterKernel(config.kernelName, 'wasm');
    tf.registerKernel(config);
  }
}
