/**
 * Calls into the wasm backend's own kernels from inside another kernel, so a
 * gradient can be assembled from the fast XNNPACK convolution plus cheap data
 * movement (JS loops on the wasm heap, slices) without going through the
 * engine.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

type Shape4 = [number, number, number, number];
type TypedArray = Float32Array | Int32Array | Uint8Array;

/** Padding per side; a negative value crops that many rows or columns instead. */
export interface Pads {
  top: number;
  bottom: number;
  left: number;
  right: number;
}

/**
 * Runs wasm kernels and remembers every intermediate it made, because
 * intermediates made by kernel functions are invisible to the engine: only
 * the backend can free them.
 */
export class WasmOps {
  private readonly temps: tf.TensorInfo[] = [];

  constructor(readonly backend: BackendWasm) {}

  /** Tracks a tensor made outside `run` (e.g. with backend.makeOutput) for disposal. */
  track(t: tf.TensorInfo): tf.TensorInfo {
    this.temps.push(t);
    return t;
  }

  run(kernelName: string, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap = {}): tf.TensorInfo {
    const kernel = tf.getKernel(kernelName, 'wasm');
    if (!kernel) throw new Error(`wasm gradient kernels: the wasm backend has no '${kernelName}' kernel`);
    const out = kernel.kernelFunc({ inputs, attrs, backend: this.backend });
    if (Array.isArray(out)) throw new Error(`wasm gradient kernels: '${kernelName}' returned several tensors`);
    return this.track(out);
  }

  reshape(x: tf.TensorInfo, shape: number[]): tf.TensorInfo {
    return this.run('Reshape', { x }, { shape });
  }

  /** A new tensor for the kernel to fill in JS; zeroed on request (the heap is not). */
  alloc(shape: number[], dtype: tf.DataType, zero = false): { info: tf.TensorInfo; data: TypedArray } {
    const info = this.track(this.backend.makeOutput(shape, dtype));
    const data = this.backend.typedArrayFromHeap(info);
    if (zero) data.fill(0);
    return { info, data };
  }

  /** A view of `t` on the wasm heap; take it after the last allocation, which can move the heap. */
  view(t: tf.TensorInfo): TypedArray {
    return this.backend.typedArrayFromHeap(t);
  }

  /**
   * Transpose in one JS pass over the heap. wasm's own Transpose (and Reverse)
   * run naive per-element C++ loops, with a generic index decode above rank 4,
   * that are 10-30x slower on filter-sized tensors.
   */
  transpose(x: tf.TensorInfo, perm: number[]): tf.TensorInfo {
    const xStrides = [...tf.util.computeStrides(x.shape), 1];
    const shape = perm.map((p) => x.shape[p]);
    const strides = perm.map((p) => xStrides[p]);
    const { info, data: dst } = this.alloc(shape, x.dtype);
    const src = this.view(x);
    const rank = shape.length;
    const inner = shape[rank - 1];
    const innerStride = strides[rank - 1];
    const rows = tf.util.sizeFromShape(shape) / inner;
    const index = new Array<number>(rank).fill(0);
    let base = 0;
    for (let row = 0, o = 0; row < rows; row++, o += inner) {
      if (innerStride === 1 && inner >= 64) {
        dst.set(src.subarray(base, base + inner), o);
      } else {
        for (let i = 0, s = base; i < inner; i++, s += innerStride) dst[o + i] = src[s];
      }
      for (let d = rank - 2; d >= 0; d--) {
        base += strides[d];
        if (++index[d] < shape[d]) break;
        base -= strides[d] * shape[d];
        index[d] = 0;
      }
    }
    return info;
  }

  slice(x: tf.TensorInfo, begin: number[], size: number[]): tf.TensorInfo {
    return this.run('Slice', { x }, { begin, size });
  }

  /**
   * Stride-1 NHWC convolution on XNNPACK. Positive pads are handed to XNNPACK
   * (implicit zeros, no copy); negative pads crop the input first, since
   * XNNPACK only pads.
   */
  conv2d(x: tf.TensorInfo, filter: tf.TensorInfo, dilations: [number, number], pads: Pads): tf.TensorInfo {
    const [n, h, w, c] = x.shape as Shape4;
    const crop = {
      top: Math.max(0, -pads.top),
      bottom: Math.max(0, -pads.bottom),
      left: Math.max(0, -pads.left),
      right: Math.max(0, -pads.right),
    };
    let input = x;
    if (crop.top + crop.bottom + crop.left + crop.right > 0) {
      input = this.slice(x, [0, crop.top, crop.left, 0], [n, h - crop.top - crop.bottom, w - crop.left - crop.right, c]);
    }
    const explicit = [
      [0, 0],
      [Math.max(0, pads.top), Math.max(0, pads.bottom)],
      [Math.max(0, pads.left), Math.max(0, pads.right)],
      [0, 0],
    ];
    return this.run(
      'Conv2D',
      { x: input, filter },
      { strides: [1, 1], pad: explicit, dataFormat: 'NHWC', dilations } as unknown as tf.NamedAttrMap,
    );
  }

  /** Frees every tracked intermediate except `keep` (the kernel's output). */
  disposeExcept(keep: tf.TensorInfo | undefined): void {
    for (const t of this.temps) {
      if (t !== keep) this.backend.disposeData(t.dataId);
    }
    this.temps.length = 0;
  }
}

/**
 * Runs `body` with a fresh WasmOps and frees its intermediates afterwards,
 * also when `body` throws, so a failed kernel call cannot leak wasm memory.
 */
export function withWasmOps(backend: object, body: (ops: WasmOps) => tf.TensorInfo): tf.TensorInfo {
  const ops = new WasmOps(backend as unknown as BackendWasm);
  let out: tf.TensorInfo | undefined;
  try {
    out = body(ops);
    return out;
  } finally {
    ops.disposeExcept(out);
  }
}

/** The gradient kernels derive everything from NHWC layouts, as does wasm's own Conv2D. */
export function assertNhwc(kernelName: string, dataFormat: string | undefined): void {
  if (dataFormat !== undefined && dataFormat !== 'NHWC') {
    throw new Error(
      `${kernelName} on the wasm backend supports dataFormat 'NHWC' only (got '${dataFormat}'); transpose to NHWC first`,
    );
  }
}

/**
 * dy for a convolution with output `expected`. tfjs drops dimRoundingMode when
 * it differentiates conv2d, so dy can be larger than the shape the gradient
 * kernel computes; the cpu and stock wasm kernels then ignore the extra rows
 * and columns, and so does this.
 */
export function fitDy(ops: WasmOps, kernelName: string, dy: tf.TensorInfo, expected: readonly number[]): tf.TensorInfo {
  const [n, h, w, c] = dy.shape;
  if (n !== expected[0] || c !== expected[3] || h < expected[1] || w < expected[2]) {
    throw new Error(`${kernelName} on wasm: dy has shape [${dy.shape}] but the convolution implies [${expected}]`);
  }
  return h === expected[1] && w === expected[2] ? dy : ops.slice(dy, [0, 0, 0, 0], [...expected]);
}
