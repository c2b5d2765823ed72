/**
 * BatchMatMul for wasm with transposed operands. The stock kernel hands
 * transposeA/transposeB to XNNPACK, which is 4-15x slower on them than on
 * plain operands (measured on a dense layer's weight gradient, x^T dy, at
 * fc6 width: 5.8 s against 0.34 s after an explicit transpose). Every dense
 * layer's gradient takes that path, so transpose in one JS pass first and
 * call the stock kernel on plain operands.
 */
import * as tf from '@tensorflow/tfjs';
import { withWasmOps, type WasmOps } from './wasm-ops.js';

/** Swaps the last two axes. */
function swapLastAxes(ops: WasmOps, t: tf.TensorInfo): tf.TensorInfo {
  const rank = t.shape.length;
  const perm = [...Array.from({ length: rank - 2 }, (_, i) => i), rank - 1, rank - 2];
  return ops.transpose(t, perm);
}

export function makeBatchMatMulConfig(stock: tf.KernelConfig | undefined): tf.KernelConfig {
  if (!stock) throw new Error('wasm gradient kernels: the wasm backend has no BatchMatMul kernel to wrap');
  function batchMatMul(args: Parameters<tf.KernelFunc>[0]): tf.TensorInfo | tf.TensorInfo[] {
    const { inputs, backend, attrs } = args;
    const { transposeA, transposeB } = attrs as unknown as tf.BatchMatMulAttrs;
    if (!transposeA && !transposeB) return stock!.kernelFunc(args);
    const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    return withWasmOps(backend, (ops) =>
      ops.run(
        tf.BatchMatMul,
        { a: transposeA ? swapLastAxes(ops, a) : a, b: transposeB ? swapLastAxes(ops, b) : b },
        { ...attrs, transposeA: false, transposeB: false },
      ),
    );
  }
  return {
    kernelName: tf.BatchMatMul,
    backendName: 'wasm',
    // The stock kernel's setup binds its wasm function, which this one calls.
    setupFunc: stock.setupFunc,
    kernelFunc: batchMatMul,
  };
}
