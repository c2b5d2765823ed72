/** Losses of the pretext stage. */
import * as tf from '@tensorflow/tfjs';

/**
 * Weighted L2 over the predicted region: sum(w * (pred - target)^2) / (3 * sum(w)).
 * `weight` is [B, H, W, 1]: 1 in the hole, the overlap weight (10) in the band
 * around it that stays visible in the input, 0 elsewhere (all 1 for an autoencoder).
 */
export function maskedL2(pred: tf.Tensor4D, target: tf.Tensor4D, weight: tf.Tensor4D): tf.Scalar {
  return tf.tidy(() => {
    const sq = tf.squaredDifference(pred, target).mul(weight).sum();
    return sq.div(weight.sum().mul(pred.shape[3]).maximum(1e-8)) as tf.Scalar;
  });
}

const EPS = 1e-7;

/** Binary cross-entropy of probabilities against a constant label (the GAN loss of the reference code). */
export function bceWithConstant(prob: tf.Tensor, label: 0 | 1): tf.Scalar {
  return tf.tidy(() => {
    const p = prob.clipByValue(EPS, 1 - EPS);
    const ll = label === 1 ? p.log() : tf.sub(1, p).log();
    return ll.mean().neg() as tf.Scalar;
  });
}
