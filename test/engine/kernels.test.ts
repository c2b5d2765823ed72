import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { initBackend } from '../../src/engine/backend.js';
import { registerWasmGradientKernels } from '../../src/engine/kernels/index.js';
import { Rng } from '../../src/engine/random.js';

type Shape4 = [number, number, number, number];
type Pad = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];

const TOLERANCE = 1e-4;

function uniform(rng: Rng, size: number): Float32Array {
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = rng.uniform(-1, 1);
  return out;
}

function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

async function useBackend(backend: 'wasm' | 'cpu'): Promise<void> {
  await initBackend(backend);
  assert.equal(tf.getBackend(), backend);
}

/** Runs `fn` on `backend` and returns copies of its tensors' values (then frees them). */
async function on(backend: 'wasm' | 'cpu', fn: () => tf.Tensor[]): Promise<Float32Array[]> {
  await useBackend(backend);
  const outs = fn();
  const values = outs.map((t) => Float32Array.from(t.dataSync()));
  tf.dispose(outs);
  return values;
}

/** max |actual - expected| relative to max |expected|. */
function relError(actual: Float32Array, expected: Float32Array): number {
  assert.equal(actual.length, expected.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return diff / scale;
}

/** Compares every output of `fn` on wasm against the cpu backend; returns failure descriptions. */
async function compareWithCpu(label: string, names: string[], fn: () => tf.Tensor[]): Promise<string[]> {
  const wasm = await on('wasm', fn);
  const cpu = await on('cpu', fn);
  const failures: string[] = [];
  names.forEach((name, i) => {
    const err = relError(wasm[i], cpu[i]);
    if (!(err < TOLERANCE)) failures.push(`${label} ${name}: relative error ${err}`);
  });
  return failures;
}

interface ConvCase {
  x: Shape4;
  filter: Shape4;
  strides: number | [number, number];
  pad: Pad;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/** dL/dx and dL/dW of L = sum(conv2d(x, W) * dy) for a random dy: exercises both gradient kernels. */
function convGradients(c: ConvCase, rng: Rng): () => tf.Tensor[] {
  const outShape = tf.backend_util.computeConv2DInfo(c.x, c.filter, c.strides, 1, c.pad, c.dimRoundingMode).outShape;
  const xv = uniform(rng, sizeOf(c.x));
  const fv = uniform(rng, sizeOf(c.filter));
  const dyv = uniform(rng, sizeOf(outShape));
  return () =>
    tf.tidy(() => {
      const dy = tf.tensor4d(dyv, outShape);
      const loss = (x: tf.Tensor, f: tf.Tensor) =>
        tf.sum(tf.mul(tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, c.strides, c.pad, 'NHWC', 1, c.dimRoundingMode), dy));
      return tf.grads(loss)([tf.tensor4d(xv, c.x), tf.tensor4d(fv, c.filter)]);
    });
}

function describeCase(c: ConvCase): string {
  return `x=[${c.x}] W=[${c.filter}] s=${JSON.stringify(c.strides)} pad=${JSON.stringify(c.pad)}${c.dimRoundingMode ? ` ${c.dimRoundingMode}` : ''}`;
}

async function checkConvCases(cases: ConvCase[], seed: number): Promise<void> {
  const rng = new Rng(seed);
  const failures: string[] = [];
  for (const c of cases) failures.push(...(await compareWithCpu(describeCase(c), ['dx', 'dW'], convGradients(c, rng))));
  assert.deepEqual(failures, []);
}

/** Strides x kernel sizes 1..11 x same/valid on odd sizes, batch 2-3, channel counts not multiples of 4. */
function gridCases(stride: number): ConvCase[] {
  const cases: ConvCase[] = [];
  for (let k = 1; k <= 11; k++) {
    for (const pad of ['same', 'valid'] as const) {
      const inChannels = [3, 5, 6][k % 3];
      const outChannels = [7, 2, 5][(k + stride) % 3];
      // Odd sizes, and for 'valid' sizes that leave rows the stride never reaches.
      const h = k + 2 * stride + (k % 2 === 0 ? 3 : 2);
      const w = k + stride + 4 + (k % 3);
      cases.push({ x: [2 + (k % 2), h, w, inChannels], filter: [k, k, inChannels, outChannels], strides: stride, pad });
    }
  }
  return cases;
}

describe('wasm gradient kernels', function () {
  this.timeout(120_000);

  before(async () => {
    await useBackend('wasm');
  });

  after(async () => {
    await useBackend('wasm');
  });

  it('registers idempotently, replacing the stock Conv2DBackpropInput', async () => {
    registerWasmGradientKernels();
    const filterKernel = tf.getKernel('Conv2DBackpropFilter', 'wasm');
    const inputKernel = tf.getKernel('Conv2DBackpropInput', 'wasm');
    registerWasmGradientKernels();
    assert.ok(filterKernel);
    assert.equal(tf.getKernel('Conv2DBackpropFilter', 'wasm')?.kernelFunc, filterKernel.kernelFunc);
    assert.equal(tf.getKernel('Conv2DBackpropInput', 'wasm')?.kernelFunc, inputKernel?.kernelFunc);
    assert.ok(tf.getKernel('UnsortedSegmentSum', 'wasm'));
  });

  for (const stride of [1, 2, 4]) {
    it(`conv2d input and filter gradients match cpu: stride ${stride}, kernels 1..11, same/valid`, async () => {
      await checkConvCases(gridCases(stride), 100 + stride);
    });
  }

  it('conv2d gradients match cpu: explicit and numeric pads, rounding, unequal strides and kernels', async () => {
    await checkConvCases([
      { x: [2, 9, 11, 3], filter: [3, 3, 3, 5], strides: 2, pad: 1 },
      { x: [2, 10, 9, 5], filter: [5, 5, 5, 3], strides: 2, pad: 2 },
      // tfjs differentiates this with truncation (it drops dimRoundingMode), leaving a dy row unused.
      { x: [3, 13, 12, 6], filter: [4, 4, 6, 7], strides: 4, pad: 1, dimRoundingMode: 'ceil' },
      { x: [2, 11, 11, 3], filter: [3, 3, 3, 2], strides: 2, pad: 1, dimRoundingMode: 'floor' },
      { x: [2, 9, 10, 5], filter: [3, 4, 5, 6], strides: 1, pad: [[0, 0], [2, 0], [1, 3], [0, 0]] },
      { x: [2, 12, 11, 3], filter: [5, 3, 3, 5], strides: 2, pad: [[0, 0], [0, 4], [3, 1], [0, 0]] },
      { x: [2, 13, 10, 5], filter: [3, 5, 5, 3], strides: [1, 2], pad: 'same' },
      { x: [3, 11, 14, 6], filter: [4, 2, 6, 5], strides: [2, 3], pad: 'valid' },
      { x: [2, 9, 15, 3], filter: [2, 6, 3, 7], strides: [4, 1], pad: 'same' },
      // The DCGAN bottleneck shape: 4x4 input onto a 1x1 output.
      { x: [3, 4, 4, 13], filter: [4, 4, 13, 37], strides: 1, pad: 'valid' },
    ], 7);
  });

  it('conv2dTranspose forward and gradients match cpu, including outputs that are not stride * input', async () => {
    const rng = new Rng(11);
    const cases: Array<{ x: Shape4; filter: Shape4; out: Shape4; strides: number; pad: 'same' | 'valid' }> = [
      { x: [2, 5, 7, 6], filter: [3, 3, 4, 6], out: [2, 11, 15, 4], strides: 2, pad: 'valid' },
      { x: [2, 5, 7, 6], filter: [3, 3, 4, 6], out: [2, 10, 14, 4], strides: 2, pad: 'same' },
      { x: [3, 4, 3, 5], filter: [4, 4, 3, 5], out: [3, 8, 6, 3], strides: 2, pad: 'same' },
      { x: [2, 3, 5, 3], filter: [5, 5, 7, 3], out: [2, 13, 21, 7], strides: 4, pad: 'valid' },
      { x: [2, 3, 4, 5], filter: [2, 2, 6, 5], out: [2, 10, 13, 6], strides: 3, pad: 'valid' },
      { x: [2, 6, 5, 3], filter: [1, 1, 2, 3], out: [2, 12, 10, 2], strides: 2, pad: 'same' },
      { x: [3, 1, 1, 37], filter: [4, 4, 5, 37], out: [3, 4, 4, 5], strides: 1, pad: 'valid' },
      { x: [2, 7, 6, 5], filter: [11, 11, 3, 5], out: [2, 17, 16, 3], strides: 1, pad: 'valid' },
    ];
    const failures: string[] = [];
    for (const c of cases) {
      const xv = uniform(rng, sizeOf(c.x));
      const fv = uniform(rng, sizeOf(c.filter));
      const dyv = uniform(rng, sizeOf(c.out));
      const run = () =>
        tf.tidy(() => {
          const x = tf.tensor4d(xv, c.x);
          const f = tf.tensor4d(fv, c.filter);
          const y = tf.conv2dTranspose(x, f, c.out, c.strides, c.pad);
          assert.deepEqual(y.shape, c.out);
          const loss = (a: tf.Tensor, b: tf.Tensor) =>
            tf.sum(tf.mul(tf.conv2dTranspose(a as tf.Tensor4D, b as tf.Tensor4D, c.out, c.strides, c.pad), tf.tensor4d(dyv, c.out)));
          return [y, ...tf.grads(loss)([x, f])];
        });
      failures.push(...(await compareWithCpu(`x=[${c.x}] W=[${c.filter}] out=[${c.out}]`, ['y', 'dx', 'dW'], run)));
    }
    assert.deepEqual(failures, []);
  });

  it('tf.layers.conv2dTranspose with bias gives the cpu output', async () => {
    const rng = new Rng(12);
    const input = uniform(rng, 2 * 5 * 6 * 3);
    const kernel = uniform(rng, 3 * 3 * 4 * 3);
    const bias = uniform(rng, 4);
    const run = () =>
      tf.tidy(() => {
        const layer = tf.layers.conv2dTranspose({ filters: 4, kernelSize: 3, strides: 2, padding: 'valid' });
        const x = tf.tensor4d(input, [2, 5, 6, 3]);
        layer.apply(x);
        layer.setWeights([tf.tensor4d(kernel, [3, 3, 4, 3]), tf.tensor1d(bias)]);
        const y = layer.apply(x) as tf.Tensor;
        assert.deepEqual(y.shape, [2, 11, 13, 4]);
        return [y];
      });
    assert.deepEqual(await compareWithCpu('conv2dTranspose layer', ['y'], run), []);
  });

  it('gradients of the other ops a conv net trains with (batch norm, pooling, resize, gather, losses) match cpu', async () => {
    const rng = new Rng(13);
    const xv = uniform(rng, 3 * 9 * 9 * 5);
    const wv = uniform(rng, 3 * 3 * 5 * 6);
    const bv = uniform(rng, 6);
    const dv = uniform(rng, 5 * 6 * 4 * 7);
    const gv = uniform(rng, 5);
    const ov = uniform(rng, 5);
    const labels = [2, 0, 6];
    const run = () =>
      tf.tidy(() => {
        const params = [
          tf.tensor4d(xv, [3, 9, 9, 5]),
          tf.tensor4d(wv, [3, 3, 5, 6]),
          tf.tensor1d(bv),
          tf.tensor2d(dv, [5 * 6 * 4, 7]),
          tf.tensor1d(gv),
          tf.tensor1d(ov),
        ];
        const brightest = tf.argMax(tf.max(params[0], [1, 2, 3]), 0);
        const loss = (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor, dense: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) => {
          const { mean, variance } = tf.moments(x, [0, 1, 2]);
          let h = tf.batchNorm4d(x as tf.Tensor4D, mean as tf.Tensor1D, variance as tf.Tensor1D, beta as tf.Tensor1D, gamma as tf.Tensor1D, 1e-3);
          h = tf.fused.conv2d({ x: h, filter: w as tf.Tensor4D, strides: 1, pad: 'same', bias: b });
          h = tf.leakyRelu(h, 0.2);
          h = tf.maxPool(h, 3, 2, 'same');
          h = tf.image.resizeBilinear(h, [7, 6]);
          // Duplicate and argmax-chosen indices, along three axes.
          h = tf.gather(h, tf.tensor1d([0, 2, 2, 5, 6], 'int32'), 1) as tf.Tensor4D;
          const picked = tf.gather(h, brightest, 0);
          h = tf.gather(h, tf.tensor1d([1, 1, 0, 2], 'int32'), 3) as tf.Tensor4D;
          h = tf.relu(h);
          const logits = tf.matMul(tf.reshape(h, [3, -1]), dense);
          const softmax = tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d(labels, 'int32'), 7), logits);
          const sigmoid = tf.losses.sigmoidCrossEntropy(tf.onesLike(logits), logits);
          return tf.addN([softmax, sigmoid, tf.mean(tf.square(picked)), tf.mean(tf.max(h, 3))]) as tf.Scalar;
        };
        return tf.grads(loss)(params);
      });
    assert.deepEqual(await compareWithCpu('composite', ['dx', 'dW', 'db', 'dDense', 'dGamma', 'dBeta'], run), []);
  });

  it('MaxPoolGrad routes dy to the first maximum like cpu, also for windows of zeros and negatives', async () => {
    const rng = new Rng(17);
    const xv = uniform(rng, 2 * 11 * 9 * 5);
    const failures: string[] = [];
    for (const [size, stride, pad] of [[3, 2, 'same'], [2, 2, 'valid'], [3, 2, 'valid'], [3, 1, 'same'], [2, 2, 'same']] as const) {
      const dyShape = tf.backend_util.computePool2DInfo([2, 11, 9, 5], size, stride, 1, pad).outShape;
      const dyv = uniform(rng, sizeOf(dyShape));
      const run = () =>
        tf.tidy(() => {
          const dy = tf.tensor4d(dyv, dyShape as Shape4);
          // relu makes windows of exact zeros (ties); the raw input has all-negative windows.
          const pooled = (x: tf.Tensor) =>
            tf.add(tf.sum(tf.mul(tf.maxPool(tf.relu(x as tf.Tensor4D), size, stride, pad), dy)), tf.sum(tf.mul(tf.maxPool(x as tf.Tensor4D, size, stride, pad), dy)));
          return [tf.grad(pooled)(tf.tensor4d(xv, [2, 11, 9, 5]))];
        });
      failures.push(...(await compareWithCpu(`maxPool ${size}/${stride} ${pad}`, ['dx'], run)));
    }
    assert.deepEqual(failures, []);
  });

  it('UnsortedSegmentSum drops out-of-range segment ids like cpu', async () => {
    const rng = new Rng(14);
    const xv = uniform(rng, 6 * 2 * 3);
    const run = () =>
      tf.tidy(() => [tf.unsortedSegmentSum(tf.tensor3d(xv, [6, 2, 3]), tf.tensor1d([3, -1, 0, 3, 7, 1], 'int32'), 5)]);
    assert.deepEqual(await compareWithCpu('unsortedSegmentSum', ['sum'], run), []);
  });

  it('Conv2DBackpropFilter rejects NCHW clearly; Conv2DBackpropInput keeps the stock NCHW path', async () => {
    await useBackend('wasm');
    const x = tf.zeros([1, 3, 5, 5]);
    const dy = tf.zeros([1, 2, 3, 3]);
    assert.throws(
      () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: 1, pad: 'valid', dataFormat: 'NCHW', filterShape: [3, 3, 3, 2] }),
      /supports dataFormat 'NHWC' only/,
    );
    tf.dispose([x, dy]);
    const rng = new Rng(15);
    const dyv = uniform(rng, 2 * 4 * 3 * 3);
    const fv = uniform(rng, 3 * 3 * 5 * 4);
    const run = () =>
      tf.tidy(() => [
        tf.engine().runKernel(
          'Conv2DBackpropInput',
          { dy: tf.tensor4d(dyv, [2, 4, 3, 3]), filter: tf.tensor4d(fv, [3, 3, 5, 4]) },
          { strides: 2, pad: 'valid', dataFormat: 'NCHW', inputShape: [2, 5, 7, 7] },
        ) as tf.Tensor,
      ]);
    assert.deepEqual(await compareWithCpu('NCHW input gradient', ['dx'], run), []);
  });

  it('frees every intermediate: tensors, bytes, backend data and wasm heap stay flat over repeated gradients', async () => {
    await useBackend('wasm');
    const rng = new Rng(16);
    const x = tf.tensor4d(uniform(rng, 4 * 12 * 12 * 24), [4, 12, 12, 24]);
    const w1 = tf.tensor4d(uniform(rng, 4 * 4 * 24 * 40), [4, 4, 24, 40]);
    const w2 = tf.tensor4d(uniform(rng, 3 * 3 * 40 * 33), [3, 3, 40, 33]);
    const w3 = tf.tensor4d(uniform(rng, 3 * 3 * 33 * 64), [3, 3, 33, 64]);
    const up = tf.tensor4d(uniform(rng, 4 * 4 * 9 * 64), [4, 4, 9, 64]);
    const backend = tf.backend() as BackendWasm;
    const heap = () => (backend.wasm as unknown as { HEAPU8: Uint8Array }).HEAPU8.length;
    // Covers both paths of each kernel: phase convolution and matrix product
    // for the input gradient, dilated convolution and matrix product for the filter.
    const step = () =>
      tf.tidy(() => {
        const loss = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor, d: tf.Tensor, e: tf.Tensor) => {
          let h = tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same');
          h = tf.conv2d(h, c as tf.Tensor4D, 2, 'same');
          h = tf.conv2d(h, d as tf.Tensor4D, 1, 'valid');
          h = tf.conv2dTranspose(h, e as tf.Tensor4D, [4, 4, 4, 9], 1, 'valid');
          return tf.sum(tf.square(tf.gather(h, tf.tensor1d([0, 2, 2], 'int32'), 3)));
        };
        const grads = tf.grads(loss)([x, w1, w2, w3, up]);
        grads.forEach((g) => g.dataSync());
      });
    step();
    step();
    const before = { ...tf.memory(), dataIds: backend.numDataIds(), heap: heap() };
    for (let i = 0; i < 10; i++) step();
    const after = { ...tf.memory(), dataIds: backend.numDataIds(), heap: heap() };
    assert.equal(after.numTensors, before.numTensors);
    assert.equal(after.numBytes, before.numBytes);
    assert.equal(after.dataIds, before.dataIds);
    assert.equal(after.heap, before.heap);
    tf.dispose([x, w1, w2, w3, up]);
  });
});
