/**
 * The optimiser of a transfer job: one step over the head's variables and,
 * when fine-tuning, the encoder's at lr x encoderLrScale. Adam at a constant
 * lr unless the entry asks otherwise: SGD with momentum, weight decay,
 * gradient clipping and a step schedule are Caffe's solver as Krähenbühl et
 * al.'s VOC classification code sets it (SGD, momentum 0.9, lr halved every
 * 10k iterations, weight decay 1e-6, gradients clipped at norm 10).
 *
 * tf.train.momentum keeps lr outside its accumulator (a = m·a + g;
 * w -= lr·a) where Caffe keeps it inside (v = m·v + lr·g; w -= v): the same
 * steps at a constant lr; after an lr step Caffe's older velocity still
 * carries the old lr for the ~1/(1 - m) steps it takes to decay.
 */
import * as tf from '@tensorflow/tfjs';
import { scheduledLr, type StepSchedule } from '../engine/lr-schedule.js';
import type { CheckpointedOptimizer } from '../engine/train-state.js';
import { DEFAULT_MOMENTUM, type TransferConfig } from './config.js';

/** The transfer loops' optimizers: tfjs's own Adam, or SGD with momentum. */
type TfOptimizer = tf.AdamOptimizer | tf.MomentumOptimizer;

/** The fields of a transfer entry the optimiser reads. */
export type OptimizerConfig = Pick<TransferConfig, 'lr' | 'encoderLrScale' | 'optimizer' | 'momentum' | 'weightDecay' | 'clipGradNorm' | 'lrStepEvery' | 'lrGamma'>;

interface Part {
  opt: TfOptimizer;
  vars: tf.Variable[];
  /** lr of step 1. */
  baseLr: number;
  /** The lr the optimiser holds now. */
  lr: number;
}

export class TransferOptimizer {
  private readonly head: Part;
  private readonly encoder: Part | null;
  private readonly schedule: StepSchedule;

  constructor(headVars: tf.Variable[], encoderVars: tf.Variable[], private readonly config: OptimizerConfig) {
    const encoderLrScale = config.encoderLrScale ?? 1;
    const make = (lr: number): TfOptimizer => (config.optimizer === 'sgd' ? tf.train.momentum(lr, config.momentum ?? DEFAULT_MOMENTUM) : tf.train.adam(lr));
    const part = (vars: tf.Variable[], lr: number): Part => ({ opt: make(lr), vars, baseLr: lr, lr });
    this.head = part(headVars, config.lr);
    this.encoder = encoderVars.length > 0 && encoderLrScale > 0 ? part(encoderVars, config.lr * encoderLrScale) : null;
    this.schedule = { every: config.lrStepEvery, gamma: config.lrGamma };
  }

  /** The optimisers by name, for a training checkpoint. */
  get optimizers(): Record<string, CheckpointedOptimizer> {
    return this.encoder ? { head: this.head.opt, encoder: this.encoder.opt } : { head: this.head.opt };
  }

  /** The lr of `step` (1-based) for the head; the encoder's is encoderLrScale times it. */
  lrAt(step: number): number {
    return scheduledLr(this.config.lr, step, this.schedule);
  }

  /** Computes gradients of `loss` once and applies them with each optimiser, at step `step`'s lr. Returns the loss. */
  step(loss: () => tf.Scalar, step: number): number {
    const parts = this.encoder ? [this.head, this.encoder] : [this.head];
    for (const p of parts) setLr(p, scheduledLr(p.baseLr, step, this.schedule));
    const { clipGradNorm, weightDecay } = this.config;
    const value = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(
        loss,
        parts.flatMap((p) => p.vars),
      );
      // Caffe's order: clip the whole step's gradients by their global norm, then add the decay.
      const scale = clipGradNorm === undefined ? null : clipFactor(Object.values(grads), clipGradNorm);
      for (const p of parts) {
        const own: tf.NamedTensorMap = {};
        for (const v of p.vars) {
          let g: tf.Tensor = grads[v.name];
          if (scale) g = g.mul(scale);
          if (weightDecay) g = g.add(v.mul(weightDecay));
          own[v.name] = g;
        }
        // Through the base class: the subclasses' declarations type the gradient map as variables.
        (p.opt as tf.Optimizer).applyGradients(own);
      }
      return value;
    });
    const out = value.dataSync()[0];
    value.dispose();
    return out;
  }

  dispose(): void {
    for (const p of this.encoder ? [this.head, this.encoder] : [this.head]) {
      p.opt.dispose();
      // MomentumOptimizer.dispose() frees its accumulators but not the lr scalar its SGD base keeps.
      if (p.opt.getClassName() === 'Momentum') (p.opt as unknown as { c: tf.Scalar }).c.dispose();
    }
  }
}

/** min(1, maxNorm / ||grads||), the factor that brings the gradients' global L2 norm down to maxNorm. */
function clipFactor(grads: tf.Tensor[], maxNorm: number): tf.Scalar {
  const norm = tf.addN(grads.map((g) => g.square().sum())).sqrt();
  return tf.minimum(1, tf.div(maxNorm, norm)) as tf.Scalar;
}

/** Sets an optimiser's lr when it changed: only a schedule changes it, so a constant-lr run never touches it. */
function setLr(p: Part, lr: number): void {
  if (lr === p.lr) return;
  p.lr = lr;
  if (p.opt.getClassName() === 'Momentum') (p.opt as tf.MomentumOptimizer).setLearningRate(lr);
  // AdamOptimizer reads this field at every update (it has no setter).
  else (p.opt as unknown as { learningRate: number }).learningRate = lr;
}
