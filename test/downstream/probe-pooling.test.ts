/**
 * The probes' pooling to about 9k values (Zhang et al. 2017): the grid it
 * picks for AlexNet's layers at 227 px is the paper's, small encoders' layers
 * pass unchanged, the pooling itself matches hand-computed averages, and the
 * transfer encoder of a knn or linear job ends in it.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { after, before, describe, it } from 'mocha';
import { PROTOCOLS } from '../../src/downstream/index.js';
import { DEFAULT_PROBE_DIMS, probeGrid } from '../../src/downstream/probe-pooling.js';
import { loadTransferEncoder } from '../../src/downstream/transfer.js';
import type { DownstreamConfig } from '../../src/downstream/config.js';
import { initBackend } from '../../src/engine/backend.js';
import { saveModel } from '../../src/engine/checkpoint.js';
import { adaptiveAvgPool, adaptiveWindows, AdaptiveAveragePooling2D } from '../../src/models/adaptive-pool.js';
import { ENCODER_LAYERS, ENCODERS } from '../../src/models/encoders/index.js';
import type { ModelConfig } from '../../src/models/config.js';

/** Output shape [h, w, c] of every encoder layer for a model entry (symbolic: nothing runs). */
function layerShapes(model: ModelConfig): Record<string, number[]> {
  const input = tf.input({ shape: [model.inputSize, model.inputSize, 3] });
  const out = ENCODERS.get(model.encoder ?? 'alexnet').build({ input, inputSize: model.inputSize, seed: 1, model });
  const net = tf.model({ inputs: input, outputs: out });
  const shapes = Object.fromEntries(net.layers.filter((l) => (ENCODER_LAYERS as readonly string[]).includes(l.name)).map((l) => [l.name, (l.outputShape as number[]).slice(1)]));
  net.dispose();
  return shapes;
}

/** The pooled [h, w, c] of a layer shape at `target`. */
function pooled([h, w, c]: number[], target: number): number[] {
  return [...probeGrid(h, w, c, target), c];
}

describe('probe pooling (about 9k values per layer, as Zhang et al.)', () => {
  before(async () => {
    await initBackend('wasm');
  });

  it("gives Zhang et al.'s sizes for AlexNet at 227 px", () => {
    const shapes = layerShapes({ encoder: 'alexnet', inputSize: 227, widthMultiplier: 1 });
    assert.deepEqual(shapes.conv1, [55, 55, 96]);
    assert.deepEqual(shapes.conv5, [13, 13, 256]);
    // Split-brain autoencoders (CVPR 2017), linear classification: conv1 10x10x96, conv2 6x6x256, conv3/4 5x5x384, conv5 6x6x256.
    const zhang: Record<string, number[]> = { conv1: [10, 10, 96], conv2: [6, 6, 256], conv3: [5, 5, 384], conv4: [5, 5, 384], conv5: [6, 6, 256], pool5: [6, 6, 256] };
    for (const [layer, want] of Object.entries(zhang)) assert.deepEqual(pooled(shapes[layer], DEFAULT_PROBE_DIMS), want, layer);
  });

  it('leaves every layer of the CIFAR encoder (alexnet-small, 32 px, width 1/4) whole', () => {
    const shapes = layerShapes({ encoder: 'alexnet-small', inputSize: 32, widthMultiplier: 0.25 });
    assert.deepEqual(shapes.conv1, [16, 16, 24]);
    for (const layer of ENCODER_LAYERS) {
      assert.ok(shapes[layer].reduce((a, b) => a * b, 1) <= 6144, layer);
      assert.deepEqual(pooled(shapes[layer], DEFAULT_PROBE_DIMS), shapes[layer], layer);
    }
  });

  it('picks the grid closest to the target, ties to the smaller; 0 never pools', () => {
    // 16x16x24: 8x8 is exactly 1536.
    assert.deepEqual(probeGrid(16, 16, 24, 1536), [8, 8]);
    // 16x16x24 at 1000: 6x6 gives 864 (136 short), 7x7 gives 1176 (176 over).
    assert.deepEqual(probeGrid(16, 16, 24, 1000), [6, 6]);
    // 4x4x8 at 80: 3x3 gives 72 (8 short), 4x4 is 128.
    assert.deepEqual(probeGrid(4, 4, 8, 80), [3, 3]);
    // 2x4x1 at 5: 1x2 gives 2 and 2x4 gives 8, both 3 away: the smaller. The grid keeps the map's aspect.
    assert.deepEqual(probeGrid(2, 4, 1, 5), [1, 2]);
    // More channels than the target: one cell per channel (global average).
    assert.deepEqual(probeGrid(13, 13, 384, 100), [1, 1]);
    assert.deepEqual(probeGrid(55, 55, 96, 0), [55, 55]);
    assert.deepEqual(probeGrid(6, 6, 256, 9216), [6, 6]);
  });

  it('averages hand-computed windows, overlapping where the size does not divide', () => {
    assert.deepEqual(adaptiveWindows(5, 2), [[0, 3], [2, 5]]);
    assert.deepEqual(adaptiveWindows(13, 6), [[0, 3], [2, 5], [4, 7], [6, 9], [8, 11], [10, 13]]);
    assert.deepEqual(adaptiveWindows(13, 5), [[0, 3], [2, 6], [5, 8], [7, 11], [10, 13]]);
    const before = tf.memory().numTensors;
    // A 5x5 map holding 5r + c in channel 0 and 100 - (5r + c) in channel 1, pooled to 2x2.
    const values = Array.from({ length: 25 }, (_, i) => [i, 100 - i]).flat();
    const x = tf.tensor4d(values, [1, 5, 5, 2]);
    const out = adaptiveAvgPool(x, 2, 2);
    // Cell (i, j) covers rows and columns [0, 3) or [2, 5), whose mean index is 1 or 3: 5 * (1 or 3) + (1 or 3).
    assert.deepEqual([...out.dataSync()], [6, 94, 8, 92, 16, 84, 18, 82]);
    tf.dispose([x, out]);
    const gap = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(a.sub(b))).dataSync()[0]);
    // A 4x6 map to 2x3: windows of 2x2 (window = stride), as tfjs's own average pooling.
    const y = tf.randomNormal([2, 4, 6, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
    const mine = adaptiveAvgPool(y, 2, 3);
    assert.deepEqual(mine.shape, [2, 2, 3, 3]);
    assert.ok(tf.tidy(() => gap(mine, tf.avgPool(y, 2, 2, 'valid'))) < 1e-5);
    // 13 -> 6 is AlexNet's pool5 geometry (window 3, stride 2), averaged.
    const z = tf.randomNormal([1, 13, 13, 4], 0, 1, 'float32', 8) as tf.Tensor4D;
    assert.ok(tf.tidy(() => gap(adaptiveAvgPool(z, 6, 6), tf.avgPool(z, 3, 2, 'valid'))) < 1e-5);
    tf.dispose([y, mine, z]);
    assert.equal(tf.memory().numTensors, before);
  });

  describe('in the transfer encoder of a probe job', () => {
    let root: string;
    let encoderDir: string;
    const model: ModelConfig = { encoder: 'alexnet-small', inputSize: 32, widthMultiplier: 0.25 };

    before(async () => {
      root = await mkdtemp(join(tmpdir(), 'ceb-probe-pool-'));
      encoderDir = join(root, 'checkpoint');
      const input = tf.input({ shape: [32, 32, 3] });
      const encoder = tf.model({ inputs: input, outputs: ENCODERS.get('alexnet-small').build({ input, inputSize: 32, seed: 3, model }) });
      await saveModel(encoder, encoderDir);
      encoder.dispose();
    });

    after(() => rm(root, { recursive: true, force: true }));

    const job = (probeDims?: number) => ({
      config: { task: 'classification', dataset: 'd', checkpointEvery: 100, ...(probeDims === undefined ? {} : { probeDims }) } as DownstreamConfig,
      protocol: 'knn',
      layer: 'conv1' as const,
      dataset: { format: 'folder', root },
      seed: 1,
      method: 'random',
      encoderDir,
      generatorDir: '',
      outDir: root,
    });

    it('knn and linear read the layer pooled to probeDims; frozen reads it whole', async () => {
      const whole = await loadTransferEncoder(job(), PROTOCOLS.get('frozen'), 'conv1');
      assert.deepEqual(whole.featureShape, [16, 16, 24]);
      for (const protocol of ['knn', 'linear']) {
        const probe = await loadTransferEncoder(job(1000), PROTOCOLS.get(protocol), 'conv1');
        assert.deepEqual(probe.layerShape, [16, 16, 24]);
        assert.deepEqual(probe.featureShape, [6, 6, 24], protocol);
        const x = tf.randomUniform([2, 32, 32, 3], -1, 1, 'float32', 4);
        const want = tf.tidy(() => adaptiveAvgPool(whole.model.predict(x) as tf.Tensor4D, 6, 6));
        const got = probe.model.predict(x) as tf.Tensor;
        assert.ok(tf.max(tf.abs(got.sub(want))).dataSync()[0] < 1e-5, protocol);
        tf.dispose([x, want, got]);
        probe.model.dispose();
      }
      // At the default (9000) the 6144-value conv1 is read whole.
      const small = await loadTransferEncoder(job(DEFAULT_PROBE_DIMS), PROTOCOLS.get('knn'), 'conv1');
      assert.deepEqual(small.featureShape, [16, 16, 24]);
      assert.ok(!small.model.layers.some((l) => l instanceof AdaptiveAveragePooling2D));
      small.model.dispose();
      whole.model.dispose();
    });
  });
});
