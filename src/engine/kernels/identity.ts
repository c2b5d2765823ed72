/**
 * Identity for wasm without a copy. While a gradient tape records, tfjs
 * clones every tensor a gradient will need (engine.saveTensorsForBackwardMode);
 * the stock wasm Identity copies the data, so each saved activation existed
 * twice until the gradients were done (85 copies, about 300 MB, per
 * ce-alexnet training step at batch 16). Here the clone shares the buffer
 * through the backend's reference count, as the cpu backend's Identity does.
 * Safe because no kernel writes into its inputs (LeanAdam's in-place moments
 * are never cloned).
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

export function makeIdentityConfig(stock: tf.KernelConfig | undefined): tf.KernelConfig {
  if (!stock) throw new Error('wasm kernels: the wasm backend has no Identity kernel to wrap');
  function identity(args: Parameters<tf.KernelFunc>[0]): tf.TensorInfo | tf.TensorInfo[] {
    const { x } = args.inputs as { x: tf.TensorInfo };
    if (x.dtype === 'string') return stock!.kernelFunc(args);
    (args.backend as unknown as BackendWasm).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  }
  return { kernelName: tf.Identity, backendName: 'wasm', setupFunc: stock.setupFunc, kernelFunc: identity };
}
