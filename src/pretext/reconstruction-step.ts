/**
 * One training step of the pixel-reconstruction methods: the step `bench run`
 * executes for the context encoder and the autoencoder, and the one
 * `bench perf` times, so its numbers are those of real training.
 */
import * as tf from '@tensorflow/tfjs';
import { minimize, type PretextAdam } from './adam.js';
import { bceWithConstant, maskedL2 } from './losses.js';

export interface ReconstructionNets {
  generator: tf.LayersModel;
  gVars: tf.Variable[];
  optG: PretextAdam;
  /** The joint adversarial loss: discriminator, the patch of an image it judges, its variables and optimiser, and the L2 term's weight. */
  adversary: { model: tf.LayersModel; patch(images: tf.Tensor4D): tf.Tensor4D; vars: tf.Variable[]; opt: PretextAdam; lambdaRec: number } | null;
}

export interface StepLosses {
  loss: number;
  rec: number;
  adv: number | null;
  d: number | null;
}

/** Masked input, target and per-pixel loss weight [n, S, S, 1] of one batch; the caller disposes them. */
export function reconstructionStep(nets: ReconstructionNets, input: tf.Tensor4D, target: tf.Tensor4D, weight: tf.Tensor4D): StepLosses {
  const { generator, gVars, optG, adversary } = nets;
  if (!adversary) {
    const cost = minimize(optG, () => maskedL2(generator.apply(input, { training: true }) as tf.Tensor4D, target, weight), gVars);
    const value = cost.dataSync()[0];
    cost.dispose();
    return { loss: value, rec: value, adv: null, d: null };
  }
  const { model: disc, patch: toD, vars: dVars, opt: optD, lambdaRec } = adversary;
  // The discriminator sees the prediction pasted into the hole, the rest real.
  const composite = (pred: tf.Tensor4D): tf.Tensor4D => {
    const hole = weight.greater(0).cast('float32');
    return pred.mul(hole).add(target.mul(tf.sub(1, hole))) as tf.Tensor4D;
  };
  const fake = tf.tidy(() => composite(generator.apply(input, { training: true }) as tf.Tensor4D));
  const dCost = minimize(
    optD,
    () => {
      const real = bceWithConstant(disc.apply(toD(target), { training: true }) as tf.Tensor, 1);
      const fakeLoss = bceWithConstant(disc.apply(toD(fake), { training: true }) as tf.Tensor, 0);
      return real.add(fakeLoss) as tf.Scalar;
    },
    dVars,
  );
  fake.dispose();
  const d = dCost.dataSync()[0];
  dCost.dispose();
  // Keep the two terms out of the minimise closure's tidy so they can be logged.
  let kept: tf.Tensor[] = [];
  const gCost = minimize(
    optG,
    () => {
      const pred = generator.apply(input, { training: true }) as tf.Tensor4D;
      const rec = maskedL2(pred, target, weight);
      const adv = bceWithConstant(disc.apply(toD(composite(pred)), { training: true }) as tf.Tensor, 1);
      kept = [tf.keep(rec.clone()), tf.keep(adv.clone())];
      return rec.mul(lambdaRec).add(adv.mul(1 - lambdaRec)) as tf.Scalar;
    },
    gVars,
  );
  const [rec, adv] = kept.map((t) => t.dataSync()[0]);
  tf.dispose(kept);
  const loss = gCost.dataSync()[0];
  gCost.dispose();
  return { loss, rec, adv, d };
}
