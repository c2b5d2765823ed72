import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { before, describe, it } from 'mocha';
import { initBackend } from '../../src/engine/backend.js';
import { isConv2DLayer, isConv2DTransposeLayer } from '../../src/models/relu-conv.js';
import { forwardFlopsPerImage, machinePeak } from '../../src/perf/flops.js';
import { buildPerfSession, CIFAR10_MODEL, countTrainable } from '../../src/perf/nets.js';

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

  it("builds ce-alexnet-small as experiments/cifar10.json's model, with the parameters counted by hand", () => {
    const { model } = JSON.parse(readFileSync(new URL('../../experiments/cifar10.json', import.meta.url), 'utf8')) as { model: Record<string, unknown> };
    assert.deepEqual({ ...CIFAR10_MODEL, inputSize: 32 }, model);
    const session = buildPerfSession({ net: 'ce-alexnet-small', size: 32, batch: 1, bottleneck: 0 });
    // Widths 96-256-384-384-256 x 0.25 = 24-64-96-96-64; conv1 5x5/2, conv2 5x5, conv3-5 3x3; each
    // conv kernel + bias, then BatchNorm gamma + beta (moving statistics are not trainable):
    //   conv1 5*5*3*24 + 24 = 1,824      bn 48     conv2 5*5*24*64 + 64 = 38,464   bn 128
    //   conv3 3*3*64*96 + 96 = 55,392    bn 192    conv4 3*3*96*96 + 96 = 83,040   bn 192
    //   conv5 3*3*96*64 + 64 = 55,360    bn 128                         encoder: 234,768
    // pool5 2x2x64: channel-wise FC 64*4*4 + 64*4 = 1,280; 1x1 conv 64*64 + 64 = 4,160;
    // up-convs 4x4, widths 128-64-64-32 x 64/256 = 32-16-16-8, then 3:
    //   64->32: 16*64*32 + 32 = 32,800   32->16: 16*32*16 + 16 = 8,208   16->16: 16*16*16 + 16 = 4,112
    //   16->8:  16*16*8 + 8 = 2,056      8->3:   16*8*3 + 3 = 387                decoder: 53,003
    assert.equal(countTrainable(session.generator), 234_768 + 53_003);
    assert.equal(234_768 + 53_003, 287_771);
    assert.deepEqual(session.generator.outputs[0].shape, [null, 32, 32, 3]);
    session.dispose();
  });

  it('counts every conv layer of ce-alexnet-small (hand-computed)', () => {
    const session = buildPerfSession({ net: 'ce-alexnet-small', size: 32, batch: 1, bottleneck: 0 });
    const G = session.generator;
    // The layers counted below are all the generator's convolutions and up-convolutions.
    assert.deepEqual(G.layers.filter(isConv2DLayer).map((l) => l.name), ['conv1', 'conv2', 'conv3', 'conv4', 'conv5', 'mix']);
    assert.deepEqual(G.layers.filter(isConv2DTransposeLayer).map((l) => l.name), ['upconv1', 'upconv2', 'upconv3', 'upconv4', 'upconv5']);
    // Multiply-adds, output positions x kernel size ('same' convs: 32 -> 16 (conv1/2), pools to 8, 4, 2):
    const encoder =
      16 * 16 * 5 * 5 * 3 * 24 + // conv1   460,800
      8 * 8 * 5 * 5 * 24 * 64 + //  conv2 2,457,600
      4 * 4 * 3 * 3 * 64 * 96 + //  conv3   884,736
      4 * 4 * 3 * 3 * 96 * 96 + //  conv4 1,327,104
      4 * 4 * 3 * 3 * 96 * 64; //   conv5   884,736
    // Channel-wise FC 64 x 4 x 4; 1x1 conv on 2x2; up-convs per input position (2, 4, 8, 16, 32 px).
    const decoder = 64 * 4 * 4 + 2 * 2 * 64 * 64 + 2 * 2 * 16 * 64 * 32 + 4 * 4 * 16 * 32 * 16 + 8 * 8 * 16 * 16 * 16 + 16 * 16 * 16 * 16 * 8 + 32 * 32 * 16 * 8 * 3;
    assert.equal(encoder, 6_014_976);
    assert.equal(decoder, 1_459_200);
    assert.equal(forwardFlopsPerImage(G), 2 * (encoder + decoder));
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
