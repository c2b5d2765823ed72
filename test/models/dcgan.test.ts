import assert from 'node:assert/strict';
import { before, describe, it } from 'mocha';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/engine/backend.js';
import { UserError } from '../../src/errors.js';
import { buildDiscriminator, buildInpaintingGenerator } from '../../src/models/dcgan.js';
import { patternImage, sameBits, trainableCount, weightValues } from './helpers.js';

/**
 * Trainable parameters of the PyTorch port's _netG at 128 (convs bias=False):
 * encoder 3->nef->nef->2nef->4nef->8nef->nBottleneck, decoder nBottleneck->8ngf->4ngf->2ngf->ngf->3,
 * all 4x4 kernels, BatchNorm (gamma, beta) after every conv but the first and the last.
 */
function torchGeneratorParams128(nef: number, ngf: number, nb: number): number {
  const enc = 16 * (3 * nef + nef * nef + nef * 2 * nef + 2 * nef * 4 * nef + 4 * nef * 8 * nef + 8 * nef * nb);
  const encBn = 2 * (nef + 2 * nef + 4 * nef + 8 * nef + nb);
  const dec = 16 * (nb * 8 * ngf + 8 * ngf * 4 * ngf + 4 * ngf * 2 * ngf + 2 * ngf * ngf + ngf * 3);
  const decBn = 2 * (8 * ngf + 4 * ngf + 2 * ngf + ngf);
  return enc + encBn + dec + decBn;
}

/** _netD at 64: 3->ndf->2ndf->4ndf->8ndf->1, BatchNorm on all but the first and the last. */
function torchDiscriminatorParams64(ndf: number): number {
  return 16 * (3 * ndf + ndf * 2 * ndf + 2 * ndf * 4 * ndf + 4 * ndf * 8 * ndf + 8 * ndf) + 2 * (2 * ndf + 4 * ndf + 8 * ndf);
}

function sampleStats(values: Float32Array): { mean: number; std: number } {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return { mean, std: Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length) };
}

describe('semantic-inpainting generator and discriminator (train.lua)', () => {
  before(async () => {
    await initBackend('wasm');
  });

  it('reference layout at 128: 5 encoder convs to 4x4, bottleneck 1x1, 4x4 up to 64x64x3; PyTorch parameter count', () => {
    const g = buildInpaintingGenerator({ size: 128, nef: 8, ngf: 8, bottleneck: 100, seed: 1 });
    assert.deepEqual(g.outputs[0].shape, [null, 64, 64, 3]);
    assert.deepEqual(g.getLayer('enc_lrelu5').outputShape, [null, 4, 4, 64]);
    assert.deepEqual(g.getLayer('bottleneck').outputShape, [null, 1, 1, 100]);
    assert.deepEqual(g.getLayer('dec_conv1').outputShape, [null, 4, 4, 64]);
    assert.deepEqual(
      [1, 2, 3, 4, 5].map((i) => (g.getLayer(`enc_conv${i}`).outputShape as number[])[3]),
      [8, 8, 16, 32, 64],
    );
    assert.throws(() => g.getLayer('enc_bn1'));
    assert.equal(trainableCount(g), torchGeneratorParams128(8, 8, 100));
    assert.equal(trainableCount(g), 293288);
    // Plus BatchNorm's moving mean and variance, which PyTorch keeps as buffers.
    assert.equal(g.countParams() - trainableCount(g), 2 * (8 + 16 + 32 + 64 + 100 + 64 + 32 + 16 + 8));
  });

  it('default bottleneck is 4000 channels', () => {
    const g = buildInpaintingGenerator({ size: 16, nef: 1, ngf: 1, seed: 1 });
    assert.deepEqual(g.getLayer('bottleneck').outputShape, [null, 1, 1, 4000]);
  });

  it('generator output is [size/2, size/2, 3] in (-1, 1) for 128, 64 and 32', async () => {
    for (const size of [128, 64, 32]) {
      const g = buildInpaintingGenerator({ size, nef: 4, ngf: 4, bottleneck: 16, seed: 2 });
      const y = g.predict(patternImage(2, size)) as tf.Tensor;
      assert.deepEqual(y.shape, [2, size / 2, size / 2, 3]);
      assert.ok((await y.data()).every((v) => v > -1 && v < 1));
      tf.dispose([y, g.getWeights()]);
    }
  });

  it('size 32 keeps the layers nearest the bottleneck (hand count 30,036 at nef=ngf=4, bottleneck 10)', () => {
    const g = buildInpaintingGenerator({ size: 32, nef: 4, ngf: 4, bottleneck: 10, seed: 1 });
    // enc 3->8 (16px), 8->16 (8px, BN), 16->32 (4px, BN); bottleneck 32->10 (BN); dec 10->32 (4px, BN), 32->16 (8px, BN), 16->3 (16px).
    const convs = 16 * (3 * 8 + 8 * 16 + 16 * 32) + 16 * 32 * 10 + 16 * (10 * 32 + 32 * 16 + 16 * 3);
    const bns = 2 * (16 + 32 + 10 + 32 + 16);
    assert.equal(convs + bns, 30036);
    assert.equal(trainableCount(g), 30036);
  });

  it('discriminator: [size, size, 3] -> [1] probability; PyTorch parameter count at 64', async () => {
    const d = buildDiscriminator({ size: 64, ndf: 8, seed: 3 });
    assert.equal(trainableCount(d), torchDiscriminatorParams64(8));
    assert.equal(trainableCount(d), 44640);
    for (const size of [64, 32, 8]) {
      const disc = buildDiscriminator({ size, ndf: 4, seed: 3 });
      assert.deepEqual(disc.outputs[0].shape, [null, 1]);
      const p = disc.predict(patternImage(3, size)) as tf.Tensor;
      assert.deepEqual(p.shape, [3, 1]);
      assert.ok((await p.data()).every((v) => v > 0 && v < 1));
    }
  });

  it('init as weights_init: conv N(0, 0.02) without bias, BatchNorm gamma N(1, 0.02), beta 0', async () => {
    const g = buildInpaintingGenerator({ size: 128, nef: 8, ngf: 8, bottleneck: 100, seed: 5 });
    assert.equal(g.getLayer('enc_conv5').getWeights().length, 1);
    const kernel = sampleStats((await g.getLayer('enc_conv5').getWeights()[0].data()) as Float32Array);
    assert.ok(Math.abs(kernel.std - 0.02) < 0.0005, `kernel std ${kernel.std}`); // 32768 samples
    assert.ok(Math.abs(kernel.mean) < 0.0005);
    const [gamma, beta] = g.getLayer('dec_bn2').getWeights();
    const gs = sampleStats((await gamma.data()) as Float32Array); // 32 samples
    assert.ok(Math.abs(gs.mean - 1) < 0.015 && gs.std > 0.01 && gs.std < 0.03, `gamma ${gs.mean} ± ${gs.std}`);
    assert.ok((await beta.data()).every((v) => v === 0));
  });

  it('same seed gives identical weights, different seeds differ', async () => {
    const cfg = { size: 32, nef: 4, ngf: 4, bottleneck: 8, seed: 21 };
    const a = await weightValues(buildInpaintingGenerator(cfg));
    const b = await weightValues(buildInpaintingGenerator(cfg));
    const c = await weightValues(buildInpaintingGenerator({ ...cfg, seed: 22 }));
    a.forEach((w, i) => assert.ok(sameBits(w, b[i]), `weight ${i} differs`));
    assert.ok(!sameBits(a[0], c[0]));
    const d1 = await weightValues(buildDiscriminator({ size: 16, ndf: 4, seed: 1 }));
    const d2 = await weightValues(buildDiscriminator({ size: 16, ndf: 4, seed: 1 }));
    const d3 = await weightValues(buildDiscriminator({ size: 16, ndf: 4, seed: 2 }));
    d1.forEach((w, i) => assert.ok(sameBits(w, d2[i])));
    assert.ok(!sameBits(d1[0], d3[0]));
  });

  it('training-mode gradients on wasm reach every weight of G and D', async () => {
    assert.equal(tf.getBackend(), 'wasm');
    const g = buildInpaintingGenerator({ size: 32, nef: 4, ngf: 4, bottleneck: 8, seed: 4 });
    const d = buildDiscriminator({ size: 16, ndf: 4, seed: 4 });
    const vars = [...g.trainableWeights, ...d.trainableWeights].map((w) => w.read() as tf.Variable);
    const x = patternImage(4, 32);
    const { grads } = tf.variableGrads(() => {
      const fake = g.apply(x, { training: true }) as tf.Tensor;
      return tf.neg(tf.mean(tf.log(d.apply(fake, { training: true }) as tf.Tensor))) as tf.Scalar;
    }, vars);
    for (const v of vars) {
      const values = await grads[v.name].data();
      assert.ok(values.every(Number.isFinite) && values.some((e) => e !== 0), `${v.name}: bad gradient`);
    }
  });

  it('rejects sizes that are not powers of two, with a UserError', () => {
    assert.throws(() => buildInpaintingGenerator({ size: 96, seed: 1 }), (e: unknown) => e instanceof UserError && /power of two/.test(e.message));
    assert.throws(() => buildInpaintingGenerator({ size: 8, seed: 1 }), UserError);
    assert.throws(() => buildDiscriminator({ size: 4, seed: 1 }), UserError);
    assert.throws(() => buildInpaintingGenerator({ size: 64, nef: 0, seed: 1 }), UserError);
  });
});
