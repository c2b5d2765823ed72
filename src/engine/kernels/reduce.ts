/**
 * Sum and Mean over leading axes (e.g. NHWC -> C, as BatchNorm's statistics
 * and every bias gradient reduce) for wasm. The stock kernels first
 * transpose the reduced axes to the end with a per-element index decode,
 * 13 ms for [16,16,16,128] -> [128]; here the rows are added into one
 * accumulator in a single pass. Other reductions go to the stock kernels.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

function makeConfig(kernelName: typeof tf.Sum | typeof tf.Mean, stock: tf.KernelConfig | undefined): tf.KernelConfig {
  if (!stock) throw new Error(`wasm kernels: the wasm backend has no ${kernelName} kernel to wrap`);
  const mean = kernelName === tf.Mean;
  const kernelFunc = (args: Parameters<tf.KernelFunc>[0]): tf.TensorInfo | tf.TensorInfo[] => {
    const { inputs, backend, attrs } = args;
    const { x } = inputs as { x: tf.TensorInfo };
    const { axis, keepDims } = attrs as unknown as tf.SumAttrs;
    const rank = x.shape.length;
    const axes = tf.util.parseAxisParam(axis, x.shape).sort((a, b) => a - b);
    const leading = axes.length > 0 && axes.length < rank && axes.every((a, i) => a === i);
    if (!leading || x.dtype !== 'float32' || tf.util.sizeFromShape(x.shape) === 0) return stock.kernelFunc(args);
    const wasm = backend as unknown as BackendWasm;
    const rest = x.shape.slice(axes.length);
    const out = wasm.makeOutput(keepDims ? [...axes.map(() => 1), ...rest] : rest, 'float32');
    const src = wasm.typedArrayFromHeap(x) as Float32Array;
    const dst = wasm.typedArrayFromHeap(out) as Float32Array;
    const inner = tf.util.sizeFromShape(rest);
    const rows = src.length / inner;
    const acc = new Float64Array(inner);
    for (let r = 0, o = 0; r < rows; r++, o += inner) {
      for (let j = 0; j < inner; j++) acc[j] += src[o + j];
    }
    const scale = mean ? 1 / rows : 1;
    for (let j = 0; j < inner; j++) dst[j] = acc[j] * scale;
    return out;
  };
  Object.defineProperty(kernelFunc, 'name', { value: mean ? 'mean' : 'sum' });
  return { kernelName, backendName: 'wasm', setupFunc: stock.setupFunc, kernelFunc };
}

export const makeSumConfig = (stock: tf.KernelConfig | undefined): tf.KernelConfig => makeConfig(tf.Sum, stock);
export const makeMeanConfig = (stock: tf.KernelConfig | undefined): tf.KernelConfig => makeConfig(tf.Mean, stock);
