/**
 * Segmentation's loss: softmax cross-entropy of every labelled pixel, averaged
 * over the labelled pixels (tf.losses.softmaxCrossEntropy with 0/1 weights and
 * its default SUM_BY_NONZERO_WEIGHTS reduction, which it replaces).
 *
 * Why not tfjs's: on wasm it ran 3 Exp and about 20 other kernels over the
 * whole [pixels, classes] matrix per step (each Exp a scalar expf, 8.5 ns a
 * value): about 48 of the 62 ms of a smoke segmentation step in the profile
 * (16 x 99 x 99 pixels, 7 classes). Here one JS pass per pixel forms the
 * loss and, in the same pass, the gradient softmax - one-hot, which the
 * backward pass only scales by dy / count; ignored pixels cost nothing and
 * get a zero gradient.
 * Per pixel the arithmetic is in float64 (stabilised by the row's max) with
 * a polynomial exp; the gradient is stored as float32.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/**
 * `logits` [pixels, classes]; `labels` one class index per pixel, `ignore`
 * (or any value >= classes, as the confusion matrix skips it) for pixels
 * that take no part (VOC's 255: void and letterbox padding).
 * With no labelled pixel the loss is 0 and so is the gradient (tfjs's
 * reduction divided 0 by 0).
 */
export function pixelSoftmaxCrossEntropy(logits: tf.Tensor2D, labels: Uint8Array, ignore: number): tf.Scalar {
  const [pixels, classes] = logits.shape;
  if (labels.length !== pixels) throw new Error(`pixelSoftmaxCrossEntropy: ${labels.length} labels for ${pixels} pixels`);
  const loss = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const grad = new Float32Array(pixels * classes);
    const { sum, count } = lossAndGradient(valuesOf(args[0] as tf.Tensor), labels, ignore, classes, grad);
    return {
      value: tf.scalar(count > 0 ? sum / count : 0),
      gradFunc: (dy: tf.Tensor) => tf.mul(tf.div(dy, Math.max(count, 1)), tf.tensor2d(grad, [pixels, classes])),
    };
  });
  return loss(logits) as tf.Scalar;
}

/**
 * A float32 tensor's values for reading now. On wasm, a view of the heap: it
 * saves copying the logits (4.4 MB a smoke step, 5 ms), and stays valid
 * because nothing allocates on the heap while the pass reads it.
 */
function valuesOf(t: tf.Tensor): Float32Array {
  if (tf.getBackend() === 'wasm') return (tf.backend() as BackendWasm).typedArrayFromHeap(t) as Float32Array;
  return t.dataSync() as Float32Array;
}

const LN2_HI = 0.6931471803691238; // ln 2 to 32 bits, so k * LN2_HI is exact for the k used here
const LN2_LO = 1.9082149292705877e-10; // ln 2 - LN2_HI
const POW2_NEG = Float64Array.from({ length: 1075 }, (_, i) => 2 ** -i);

/**
 * e^t for t <= 0 (a logit minus its row's max), relative error below 1e-9,
 * about twice as fast as Math.exp here (V8's is fdlibm's, 10-16 ns a call on
 * this machine, and it dominated the pass). t = k ln 2 + r with |r| <= ln 2 / 2;
 * e^r by its Taylor series to r^8 (error < r^9 / 9! < 2e-10); 2^k from a table.
 */
export function expNonPositive(t: number): number {
  const k = Math.floor(t * Math.LOG2E + 0.5);
  if (k < -1074) return 0;
  const r = t - k * LN2_HI - k * LN2_LO;
  const er = 1 + r * (1 + r * (1 / 2 + r * (1 / 6 + r * (1 / 24 + r * (1 / 120 + r * (1 / 720 + r * (1 / 5040 + r / 40320)))))));
  return er * POW2_NEG[-k];
}

/**
 * The pass itself, at module level so V8 optimises it once (as a closure made
 * per call it ran slower). Fills `grad` with softmax - one-hot per labelled
 * pixel; returns the summed cross-entropy and the labelled count.
 */
function lossAndGradient(x: Float32Array, labels: Uint8Array, ignore: number, classes: number, grad: Float32Array): { sum: number; count: number } {
  let sum = 0;
  let count = 0;
  for (let p = 0, row = 0; p < labels.length; p++, row += classes) {
    const label = labels[p];
    // As the confusion matrix does, a label that names no class counts as ignored.
    if (label === ignore || label >= classes) continue;
    const end = row + classes;
    let max = x[row];
    for (let i = row + 1; i < end; i++) if (x[i] > max) max = x[i];
    // The exps go through grad (float32); their sum is taken before rounding.
    let total = 0;
    for (let i = row; i < end; i++) {
      const e = expNonPositive(x[i] - max);
      grad[i] = e;
      total += e;
    }
    // Cross-entropy: log-sum-exp minus the true class's logit; its gradient softmax - one-hot.
    sum += max + Math.log(total) - x[row + label];
    const inv = 1 / total;
    for (let i = row; i < end; i++) grad[i] *= inv;
    grad[row + label] -= 1;
    count++;
  }
  return { sum, count };
}
