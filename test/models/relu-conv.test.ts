import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { before, describe, it } from 'mocha';
import { initBackend } from '../../src/engine/backend.js';
import { loadModel, saveModel } from '../../src/engine/checkpoint.js';
import { ReluConv2D, ReluConv2DTranspose, reluConv2d, reluConv2dTranspose } from '../../src/models/relu-conv.js';
import { patternImage, sameBits } from './helpers.js';

type ConvArgs = Parameters<typeof tf.layers.conv2d>[0];

/** One conv layer on an [size, size, 3] input, seeded weights and a bias that is not zero (so the bias and ReLU paths both matter). */
function oneLayer(kind: 'conv' | 'transpose', fused: boolean, args: Partial<ConvArgs>, size: number): tf.LayersModel {
  const full: ConvArgs = {
    filters: 5,
    kernelSize: 3,
    activation: 'relu',
    kernelInitializer: tf.initializers.randomNormal({ mean: 0, stddev: 0.3, seed: 11 }),
    biasInitializer: tf.initializers.randomNormal({ mean: 0, stddev: 0.3, seed: 12 }),
    ...args,
  };
  const layer = kind === 'conv'
    ? (fused ? reluConv2d(full) : tf.layers.conv2d(full))
    : (fused ? reluConv2dTranspose(full) : tf.layers.conv2dTranspose(full));
  const input = tf.input({ shape: [size, size, 3] });
  return tf.model({ inputs: input, outputs: layer.apply(input) as tf.SymbolicTensor });
}

interface Grads {
  out: Float32Array;
  kernel: Float32Array;
  bias: Float32Array;
  input: Float32Array;
}

/** Output under the tape, and the gradients of sum(output * pattern) for kernel, bias and the input. */
async function outputAndGrads(model: tf.LayersModel, x: tf.Tensor4D): Promise<Grads> {
  const [kernel, bias] = model.trainableWeights.map((w) => w.read() as tf.Variable);
  let out: Float32Array = new Float32Array(0);
  const f = (input: tf.Tensor): tf.Scalar => {
    const y = model.apply(input, { training: true }) as tf.Tensor;
    out = y.dataSync() as Float32Array;
    const pattern = tf.sin(tf.range(0, y.size).reshape(y.shape));
    return tf.sum(tf.mul(y, pattern));
  };
  const { value, grads } = tf.variableGrads(() => f(x), [kernel, bias]);
  const dx = tf.grad(f)(x);
  const result = {
    out,
    kernel: (await grads[kernel.name].data()) as Float32Array,
    bias: (await grads[bias.name].data()) as Float32Array,
    input: (await dx.data()) as Float32Array,
  };
  tf.dispose([value, dx, ...Object.values(grads)]);
  return result;
}

function assertClose(actual: Float32Array, expected: Float32Array, what: string, rel = 1e-5): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  const scale = Math.max(1e-6, ...expected.map(Math.abs));
  const diff = Math.max(...actual.map((a, i) => Math.abs(a - expected[i])));
  assert.ok(diff <= rel * scale, `${what}: differs by ${diff} (scale ${scale})`);
  assert.ok(expected.some((e) => e !== 0), `${what}: all zero, the comparison proves nothing`);
}

const CASES: { kind: 'conv' | 'transpose'; args: Partial<ConvArgs>; size: number }[] = [
  { kind: 'conv', args: { kernelSize: 11, strides: 4, padding: 'valid' }, size: 23 }, // conv1's geometry
  { kind: 'conv', args: { kernelSize: 5, strides: 1, padding: 'same' }, size: 9 },
  { kind: 'conv', args: { kernelSize: 3, strides: 2, padding: 'same' }, size: 10 },
  { kind: 'transpose', args: { kernelSize: 4, strides: 2, padding: 'same' }, size: 6 }, // the decoder's up-convs
];

describe('models/relu-conv: conv + bias + ReLU as one op in training', () => {
  before(() => initBackend('wasm'));

  for (const backend of ['cpu', 'wasm']) {
    for (const c of CASES) {
      it(`${backend}: ${c.kind} ${JSON.stringify(c.args)} gives tfjs's layer's output and gradients (kernel, bias, input), bit for bit`, async () => {
        await tf.setBackend(backend);
        try {
          const x = patternImage(2, c.size);
          const ours = await outputAndGrads(oneLayer(c.kind, true, c.args, c.size), x);
          const theirs = await outputAndGrads(oneLayer(c.kind, false, c.args, c.size), x);
          for (const k of ['out', 'kernel', 'bias', 'input'] as const) {
            assert.ok(theirs[k].some((e) => e !== 0) && theirs[k].some((e) => e < 0 || k === 'out'), `${k}: too uniform to prove anything`);
            assert.ok(sameBits(ours[k], theirs[k]), `${k}: differs from tfjs's layer`);
          }
          x.dispose();
        } finally {
          await tf.setBackend('wasm');
        }
      });
    }
  }

  it('wasm agrees with the cpu backend on the fused layers', async () => {
    const x = patternImage(2, 23);
    const args = { kernelSize: 11, strides: 4, padding: 'valid' as const };
    const wasm = await outputAndGrads(oneLayer('conv', true, args, 23), x);
    await tf.setBackend('cpu');
    try {
      const cpu = await outputAndGrads(oneLayer('conv', true, args, 23), patternImage(2, 23));
      for (const k of ['out', 'kernel', 'bias', 'input'] as const) assertClose(wasm[k], cpu[k], k, 1e-4);
    } finally {
      await tf.setBackend('wasm');
    }
    x.dispose();
  });

  it('under the tape keeps one buffer per layer where tfjs keeps three (conv, bias add, ReLU)', () => {
    const size = 23;
    const x = patternImage(4, size);
    // Data buffers, not tf.memory().numBytes: that counts a tensor the tape saves by reference (an Identity sharing the buffer) again.
    const buffersAfterForward = (fused: boolean): number => {
      const model = oneLayer('conv', fused, { kernelSize: 11, strides: 4, padding: 'valid' }, size);
      const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
      const before = tf.memory().numDataBuffers;
      let held = 0;
      const { value, grads } = tf.variableGrads(() => {
        const y = model.apply(x, { training: true }) as tf.Tensor;
        held = tf.memory().numDataBuffers - before;
        return tf.sum(y);
      }, vars);
      tf.dispose([value, ...Object.values(grads)]);
      model.dispose();
      return held;
    };
    assert.equal(buffersAfterForward(true), 1);
    assert.ok(buffersAfterForward(false) >= 3, `tfjs's layer held ${buffersAfterForward(false)} buffers`);
    x.dispose();
  });

  it("computes no gradient for a model input (conv1's image), as tfjs's own Conv2D", async () => {
    const input = tf.input({ shape: [23, 23, 3] });
    const model = tf.model({ inputs: input, outputs: reluConv2d({ filters: 4, kernelSize: 11, strides: 4, activation: 'relu' }).apply(input) as tf.SymbolicTensor });
    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const x = patternImage(2, 23);
    const info = await tf.profile(() => {
      const { value, grads } = tf.variableGrads(() => tf.sum(model.apply(x, { training: true }) as tf.Tensor), vars);
      tf.dispose([value, ...Object.values(grads)]);
    });
    const names = info.kernels.map((k) => k.name);
    assert.ok(names.includes('Conv2DBackpropFilter'), `the kernel gradient ran: ${names.join(' ')}`);
    assert.ok(!names.includes('Conv2DBackpropInput'), `an input gradient was computed: ${names.join(' ')}`);
    x.dispose();
  });

  it("frees the output's gradient it spends only when the backward pass made it: a dy given to tf.grad stays usable, and nothing leaks", async () => {
    for (const kind of ['conv', 'transpose'] as const) {
      const model = oneLayer(kind, true, kind === 'conv' ? { kernelSize: 3, padding: 'same' } : { kernelSize: 4, strides: 2, padding: 'same' }, 6);
      const x = patternImage(1, 6);
      const y = model.predict(x) as tf.Tensor;
      const dy = tf.onesLike(y);
      const before = tf.memory().numTensors;
      // The layer's output is f's output, so the pass starts from the caller's dy.
      const dx = tf.grad((input: tf.Tensor) => model.apply(input, { training: true }) as tf.Tensor)(x, dy);
      assert.equal(dy.isDisposed, false, `${kind}: the caller's dy was freed`);
      assert.equal((await dy.data()).length, y.size);
      dx.dispose();
      // A loss after the layer: the pass makes (and may free) every dy itself.
      const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(model.apply(x, { training: true }) as tf.Tensor)), vars);
      tf.dispose([value, ...Object.values(grads)]);
      assert.equal(tf.memory().numTensors, before, `${kind}: tensors left behind`);
      tf.dispose([x, y, dy]);
      model.dispose();
    }
  });

  it('saves under its own class names and reloads; a checkpoint of plain Conv2D layers still loads as tfjs layers', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ceb-relu-conv-'));
    try {
      const x = patternImage(1, 6);
      for (const fused of [true, false]) {
        const input = tf.input({ shape: [6, 6, 3] });
        let h = (fused ? reluConv2d : tf.layers.conv2d)({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' }).apply(input) as tf.SymbolicTensor;
        h = (fused ? reluConv2dTranspose : tf.layers.conv2dTranspose)({ filters: 3, kernelSize: 4, strides: 2, padding: 'same', activation: 'relu' }).apply(h) as tf.SymbolicTensor;
        const model = tf.model({ inputs: input, outputs: h });
        await saveModel(model, join(dir, String(fused)));
        const loaded = await loadModel(join(dir, String(fused)));
        const classes = loaded.layers.slice(1).map((l) => l.getClassName());
        assert.deepEqual(classes, fused ? [ReluConv2D.className, ReluConv2DTranspose.className] : ['Conv2D', 'Conv2DTranspose']);
        const [a, b] = [model.predict(x) as tf.Tensor, loaded.predict(x) as tf.Tensor];
        assert.deepEqual(await b.data(), await a.data());
        tf.dispose([a, b]);
      }
      x.dispose();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('other activations are tfjs layers unchanged', () => {
    assert.equal(reluConv2d({ filters: 2, kernelSize: 1, activation: 'linear' }).getClassName(), 'Conv2D');
    assert.equal(reluConv2dTranspose({ filters: 2, kernelSize: 1, activation: 'tanh' }).getClassName(), 'Conv2DTranspose');
  });
});
