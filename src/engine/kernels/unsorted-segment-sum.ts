/**
 * UnsortedSegmentSum for wasm, which tfjs-backend-wasm 4.22 lacks; tf.gather's
 * gradient needs it. It is wasm's ScatterNd (which sums duplicate indices)
 * with the segment ids as row indices. Ids outside [0, numSegments) are
 * dropped, as in TensorFlow, by routing them to an extra row that is cut off.
 */
import * as tf from '@tensorflow/tfjs';
import { withWasmOps } from './wasm-ops.js';

function unsortedSegmentSum({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const { x, segmentIds } = inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
  const { numSegments } = attrs as unknown as tf.UnsortedSegmentSumAttrs;
  const rest = x.shape.slice(segmentIds.shape.length);
  const count = tf.util.sizeFromShape(segmentIds.shape);
  return withWasmOps(backend, (ops) => {
    const ids = Int32Array.from(ops.backend.readSync(segmentIds.dataId) as ArrayLike<number>);
    let outOfRange = false;
    for (let i = 0; i < count; i++) {
      if (ids[i] < 0 || ids[i] >= numSegments) {
        ids[i] = numSegments;
        outOfRange = true;
      }
    }
    const indices = ops.track(ops.backend.makeOutput([count, 1], 'int32', undefined, ids));
    const updates = ops.reshape(x, [count, ...rest]);
    const rows = numSegments + (outOfRange ? 1 : 0);
    const sums = ops.run('ScatterNd', { indices, updates }, { shape: [rows, ...rest] });
    if (!outOfRange) return sums;
    return ops.slice(sums, rest.map(() => 0).concat([0]), [numSegments, ...rest]);
  });
}

export const unsortedSegmentSumConfig: tf.KernelConfig = {
  kernelName: tf.UnsortedSegmentSum,
  backendName: 'wasm',
  kernelFunc: unsortedSegmentSum,
};
