import assert from 'node:assert/strict';
import { describe, it } from 'mocha';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/engine/backend.js';
import { Rng } from '../../src/engine/random.js';
import { expNonPositive, pixelSoftmaxCrossEntropy } from '../../src/downstream/pixel-softmax-loss.js';

/** tfjs's own loss, as segmentation computed it before: one-hot labels, 0/1 weights, SUM_BY_NONZERO_WEIGHTS. */
function tfjsLoss(logits: tf.Tensor2D, labels: Uint8Array, classes: number): tf.Scalar {
  const index = Int32Array.from(labels, (v) => (v === 255 ? 0 : v));
  const weights = Float32Array.from(labels, (v) => (v === 255 ? 0 : 1));
  return tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d(index, 'int32'), classes), logits, tf.tensor1d(weights));
}

function valueAndGrad(loss: (x: tf.Tensor2D) => tf.Scalar, x: tf.Tensor2D): { value: number; grad: Float32Array } {
  return tf.tidy(() => {
    const { value, grad } = tf.valueAndGrad((t: tf.Tensor) => loss(t as tf.Tensor2D))(x);
    return { value: value.dataSync()[0], grad: grad.dataSync() as Float32Array };
  });
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < actual.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= tol * (1 + Math.abs(expected[i])), `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
  }
}

describe('pixelSoftmaxCrossEntropy (segmentation loss)', () => {
  for (const backend of ['cpu', 'wasm'] as const) {
    it(`${backend}: matches tfjs's weighted softmax cross-entropy in value and gradient, ignored pixels included`, async () => {
      await initBackend(backend);
      const rng = new Rng(5);
      const [pixels, classes] = [500, 7];
      // Logits up to +-40, so an unstabilised exp would overflow float32.
      const x = tf.tensor2d(Array.from({ length: pixels * classes }, () => (rng.next() - 0.5) * (rng.next() < 0.1 ? 80 : 6)), [pixels, classes]);
      const labels = Uint8Array.from({ length: pixels }, () => (rng.next() < 0.2 ? 255 : Math.floor(rng.next() * classes)));
      const before = tf.memory().numTensors;
      const ours = valueAndGrad((t) => pixelSoftmaxCrossEntropy(t, labels, 255), x);
      assert.equal(tf.memory().numTensors, before, 'tensors left behind');
      const theirs = valueAndGrad((t) => tfjsLoss(t, labels, classes), x);
      assertClose([ours.value], [theirs.value], 1e-6, 'loss');
      assertClose(ours.grad, theirs.grad, 1e-6, 'gradient');
      // Ignored pixels get no gradient at all.
      labels.forEach((v, p) => {
        if (v === 255) assert.deepEqual(Array.from(ours.grad.subarray(p * classes, (p + 1) * classes)), new Array(classes).fill(0));
      });
      x.dispose();
    });
  }

  it('hand-computed: two classes, one pixel ignored, one labelled out of range (ignored, as the confusion matrix does)', async () => {
    await initBackend('cpu');
    const x = tf.tensor2d([0, Math.log(3), 5, 1, 2, 2, 0, 0], [4, 2]);
    const { value, grad } = valueAndGrad((t) => pixelSoftmaxCrossEntropy(t, Uint8Array.from([0, 255, 9, 1]), 255), x);
    // Pixel 0: softmax (1/4, 3/4), label 0: -log(1/4). Pixel 3: (1/2, 1/2), label 1: -log(1/2). Mean of the two.
    assert.ok(Math.abs(value - (Math.log(4) + Math.log(2)) / 2) < 1e-6, `${value}`);
    assertClose(grad, [(0.25 - 1) / 2, 0.75 / 2, 0, 0, 0, 0, 0.5 / 2, (0.5 - 1) / 2], 1e-6, 'gradient');
    // No labelled pixel: 0, and a zero gradient (tfjs's reduction gave 0 / 0).
    const none = valueAndGrad((t) => pixelSoftmaxCrossEntropy(t, Uint8Array.from([255, 255, 255, 255]), 255), x);
    assert.equal(none.value, 0);
    assert.deepEqual(Array.from(none.grad), new Array(8).fill(0));
    x.dispose();
  });

  it('its exp is within 1e-9 of Math.exp on [-700, 0], 1 at 0, 0 far below', () => {
    const rng = new Rng(2);
    let worst = 0;
    for (let i = 0; i < 200000; i++) {
      const t = i < 100000 ? -rng.next() * 20 : -rng.next() * 700;
      worst = Math.max(worst, Math.abs(expNonPositive(t) - Math.exp(t)) / Math.exp(t));
    }
    assert.ok(worst < 1e-9, `worst relative error ${worst}`);
    assert.equal(expNonPositive(0), 1);
    assert.equal(expNonPositive(-800), 0);
    assert.equal(expNonPositive(-Infinity), 0);
  });
});
