import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { before, describe, it } from 'mocha';
import { initBackend } from '../../src/engine/backend.js';
import { forwardFlopsPerImage, machinePeak } from '../../src/perf/flops.js';
import { buildPerfSession } from '../../src/perf/nets.js';

describe('bench perf arithmetic counts', function () {
  before(async () => {
    await initBackend('wasm');
  });

  it('counts 2 FLOPs per multiply-add of convolutions, up-convolutions and dense layers (hand-computed)', () => {
    const input = tf.input({ shape: [8, 8, 3] });
    let h = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' }).apply(input) as tf.SymbolicTensor;
    h = tf.layers.batchNormalization().apply(h) as tf.SymbolicTensor;
    h = tf.layers.conv2dTranspose({ filters: 2, kernelSize: 4, strides: 2, padding: 'same' }).apply(h) as tf.SymbolicTensor;
    h = tf.layers.flatten().apply(h) as tf.SymbolicTensor;
    const out = tf.layers.dense({ units: 10 }).apply(h) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: out });
    // conv: 8*8 positions x 3*3*3 x 4 = 6,912 multiply-adds; up-conv: 8*8 inputs x 4*4*2 x 4 = 8,192;
    // dense: 16*16*2 = 512 inputs x 10 = 5,120. BatchNorm is not counted.
    assert.equal(forwardFlopsPerImage(model), 2 * (6912 + 8192 + 5120));
    model.dispose();
  });

  it("counts ce-alexnet's conv2 as BENCHMARKS.md does (5x5, 96 -> 256 on 27x27: 0.896 GFLOP an image) inside its total", () => {
    const session = buildPerfSession({ net: 'ce-alexnet', size: 227, batch: 1, bottleneck: 4000 });
    const flops = forwardFlopsPerImage(session.generator);
    const conv2 = 2 * 27 * 27 * 5 * 5 * 96 * 256;
    assert.equal(conv2, 895_795_200);
    // AlexNet's five convolutions alone (no groups) are 2 x 1.08 G multiply-adds; the decoder adds to that.
    const convs = 2 * (55 * 55 * 11 * 11 * 3 * 96 + 27 * 27 * 5 * 5 * 96 * 256 + 13 * 13 * 3 * 3 * (256 * 384 + 384 * 384 + 384 * 256));
    assert.ok(flops > convs, `${flops} > ${convs}`);
    session.dispose();
  });

  it('derives the peak from cores, clock and SIMD flags', () => {
    const peak = machinePeak(2);
    assert.equal(peak.cores, 2);
    assert.equal(peak.wasm_simd128_gflop_s, Math.round(2 * peak.ghz * 16 * 10) / 10);
    assert.ok([8, 16, 32, 64].includes(peak.nativeFlopsPerCycle), String(peak.nativeFlopsPerCycle));
    assert.match(peak.derivation, /^2 cores x [\d.]+ GHz/);
  });
});
