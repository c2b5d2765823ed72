/**
 * The pretext loop's Adam: tf.train.adam, or LeanAdam (engine/lean-adam.ts)
 * for a generator whose weights are too large for tf.train.adam's
 * temporaries on the wasm heap (dcgan's 4000-unit bottleneck: 131 MB
 * filters). Both do tf.train.adam's arithmetic and checkpoint alike; the
 * default generator keeps tf.train.adam, so its results stay bit for bit.
 */
import * as tf from '@tensorflow/tfjs';
import { LeanAdam } from '../engine/lean-adam.js';

export type PretextAdam = tf.AdamOptimizer | LeanAdam;

export function makeAdam(lean: boolean, lr: number, beta1: number): PretextAdam {
  // beta2 and epsilon: tf.train.adam's defaults, which LeanAdam shares.
  return lean ? new LeanAdam({ lr, beta1 }) : tf.train.adam(lr, beta1);
}

/** Runs `f`, updates `vars` from its gradients and returns the loss (the caller disposes it). */
export function minimize(opt: PretextAdam, f: () => tf.Scalar, vars: tf.Variable[]): tf.Scalar {
  return opt instanceof LeanAdam ? opt.minimize(f, vars) : opt.minimize(f, true, vars)!;
}
