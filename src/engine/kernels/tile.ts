/**
 * Tile for wasm as block copies. The stock kernel decodes a multi-index per
 * output element in C++; BatchNorm's gradient tiles every per-channel vector
 * to the activation's shape, and at [1,1,1,256] -> [16,8,8,256] that took
 * 17 ms a call, 7% of a DCGAN training step. Here each tiled block is
 * written once and then doubled with copyWithin (memmove).
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

type TypedArray = Float32Array | Int32Array | Uint8Array;

export function makeTileConfig(stock: tf.KernelConfig | undefined): tf.KernelConfig {
  if (!stock) throw new Error('wasm kernels: the wasm backend has no Tile kernel to wrap');
  function tile(args: Parameters<tf.KernelFunc>[0]): tf.TensorInfo | tf.TensorInfo[] {
    const { inputs, backend, attrs } = args;
    const { x } = inputs as { x: tf.TensorInfo };
    if (x.dtype === 'string') return stock!.kernelFunc(args);
    const { reps } = attrs as unknown as tf.TileAttrs;
    const wasm = backend as unknown as BackendWasm;
    const inShape = x.shape;
    const rank = inShape.length;
    const outShape = inShape.map((s, i) => s * reps[i]);
    const out = wasm.makeOutput(outShape, x.dtype);
    if (tf.util.sizeFromShape(outShape) === 0) return out;
    // Views after the allocation, which can grow (and detach) the heap.
    const src = wasm.typedArrayFromHeap(x) as TypedArray;
    const dst = wasm.typedArrayFromHeap(out) as TypedArray;
    if (rank === 0) {
      dst[0] = src[0];
      return out;
    }
    const inStrides = [...tf.util.computeStrides(inShape), 1];
    const outStrides = [...tf.util.computeStrides(outShape), 1];
    const fill = (d: number, s: number, o: number): void => {
      const n = inShape[d];
      if (d === rank - 1) {
        if (n === 1) {
          dst.fill(src[s], o, o + reps[d]);
          return;
        }
        dst.set(src.subarray(s, s + n), o);
      } else {
        for (let i = 0; i < n; i++) fill(d + 1, s + i * inStrides[d], o + i * outStrides[d]);
      }
      const block = n * outStrides[d];
      for (let r = 1; r < reps[d]; r *= 2) {
        const len = Math.min(r, reps[d] - r) * block;
        dst.copyWithin(o + r * block, o, o + len);
      }
    };
    fill(0, 0, 0);
    return out;
  }
  return { kernelName: tf.Tile, backendName: 'wasm', setupFunc: stock.setupFunc, kernelFunc: tile };
}
