/**
 * Adam with the arithmetic of tf.train.adam, one variable at a time and, on
 * the wasm backend, in one fused pass over the heap.
 *
 * tf.train.adam updates every variable inside one tidy: about ten
 * weight-sized temporaries per variable stay alive until the last variable is
 * done (131 MB each for a 4000-channel DCGAN bottleneck), which overflowed the
 * wasm backend's 4 GB heap. Here the moments are updated in place and the
 * only allocation is the new weight tensor (a new buffer, not an in-place
 * write: the wasm backend caches XNNPACK-packed copies of convolution filters
 * by buffer id, and a weight changed in place would keep its stale packed copy).
 *
 * On other backends the same update runs as tfjs ops, one variable per tidy.
 *
 * getWeights/setWeights follow tf.train.adam's layout (a fresh step-count
 * scalar, then every first moment, then every second moment, in the order
 * the variables were first updated), so a training checkpoint
 * (engine/train-state.ts) holds either optimizer the same way. The bias
 * corrections come from the step count in double precision, so nothing else
 * needs saving.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { NamedTensor } from './train-state.js';

export interface LeanAdamOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  /** Default: the backend's epsilon, as tf.train.adam (1e-7 on float32 backends). */
  epsilon?: number;
}

const KERNEL = 'CEBenchLeanAdamUpdate';

interface UpdateAttrs {
  lrT: number;
  beta1: number;
  beta2: number;
  oneMinusAccBeta1: number;
  oneMinusAccBeta2: number;
  epsilon: number;
}

/**
 * Writes m and v in place and returns the new weight. m and v are private to
 * the optimiser and never reach a convolution, so nothing caches their buffers.
 */
function wasmAdamUpdate({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const { w, m, v, g } = inputs as Record<'w' | 'm' | 'v' | 'g', tf.TensorInfo>;
  const a = attrs as unknown as UpdateAttrs;
  const wasm = backend as unknown as BackendWasm;
  const out = wasm.makeOutput(w.shape, 'float32');
  // Views after the last allocation: growing the heap detaches older views.
  const [wd, md, vd, gd, od] = [w, m, v, g, out].map((t) => wasm.typedArrayFromHeap(t) as Float32Array);
  const { beta1, beta2, epsilon } = a;
  const c1 = 1 - beta1;
  const c2 = 1 - beta2;
  // tf.train.adam: w - lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps).
  const s1 = a.lrT / a.oneMinusAccBeta1;
  const inv2 = 1 / a.oneMinusAccBeta2;
  for (let i = 0, n = wd.length; i < n; i++) {
    const gi = gd[i];
    const mi = beta1 * md[i] + c1 * gi;
    const vi = beta2 * vd[i] + c2 * gi * gi;
    md[i] = mi;
    vd[i] = vi;
    od[i] = wd[i] - (s1 * Math.fround(mi)) / (Math.sqrt(Math.fround(vi) * inv2) + epsilon);
  }
  return out;
}

let registered = false;
function registerKernel(): void {
  if (registered) return;
  tf.registerKernel({ kernelName: KERNEL, backendName: 'wasm', kernelFunc: wasmAdamUpdate });
  registered = true;
}

export class LeanAdam {
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly epsilon: number;
  private readonly moments = new Map<string, { m: tf.Variable; v: tf.Variable }>();
  /**
   * Moments restored by setWeights before any update, in the order they were
   * saved: variable names differ between processes (tfjs numbers repeated
   * layer names), so they go to the variables by order of first update, as
   * tf.train.adam's do.
   */
  private restored: { m: tf.Variable; v: tf.Variable }[] = [];
  private step = 0;

  constructor(private readonly opts: LeanAdamOptions) {
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.epsilon = opts.epsilon ?? tf.backend().epsilon();
    registerKernel();
  }

  /** Updates each variable from its gradient (keyed by variable name), then disposes the gradients. */
  applyGradients(vars: tf.Variable[], grads: tf.NamedTensorMap): void {
    this.step++;
    const attrs: UpdateAttrs = {
      lrT: this.opts.lr,
      beta1: this.beta1,
      beta2: this.beta2,
      oneMinusAccBeta1: 1 - this.beta1 ** this.step,
      oneMinusAccBeta2: 1 - this.beta2 ** this.step,
      epsilon: this.epsilon,
    };
    const onWasm = tf.getBackend() === 'wasm';
    for (const w of vars) {
      const g = grads[w.name];
      if (!g) continue;
      let state = this.moments.get(w.name);
      if (!state) {
        state = this.restored[this.moments.size] ?? tf.tidy(() => ({ m: tf.variable(tf.zerosLike(w), false), v: tf.variable(tf.zerosLike(w), false) }));
        if (!tf.util.arraysEqual(state.m.shape, w.shape)) {
          throw new Error(`LeanAdam: restored moment ${this.moments.size} has shape [${state.m.shape}], variable ${w.name} has [${w.shape}]`);
        }
        this.moments.set(w.name, state);
      }
      const { m, v } = state;
      if (onWasm) {
        tf.tidy(() => {
          w.assign(tf.engine().runKernel(KERNEL, { w, m, v, g }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor);
        });
      } else {
        tf.tidy(() => m.assign(tf.add(tf.mul(m, this.beta1), tf.mul(g, 1 - this.beta1))));
        tf.tidy(() => v.assign(tf.add(tf.mul(v, this.beta2), tf.mul(tf.square(g), 1 - this.beta2))));
        tf.tidy(() => {
          const mHat = tf.div(m, attrs.oneMinusAccBeta1);
          const vHat = tf.div(v, attrs.oneMinusAccBeta2);
          w.assign(tf.sub(w, tf.div(tf.mul(mHat, attrs.lrT), tf.add(tf.sqrt(vHat), this.epsilon))));
        });
      }
    }
    tf.dispose(Object.values(grads));
  }

  /** Runs `f`, differentiates it with respect to `vars`, applies the update; returns the loss (the caller disposes it). */
  minimize(f: () => tf.Scalar, vars: tf.Variable[]): tf.Scalar {
    const { value, grads } = tf.variableGrads(f, vars);
    this.applyGradients(vars, grads);
    return value;
  }

  /** The step count (a fresh scalar the caller disposes), then the live first and second moments. */
  async getWeights(): Promise<NamedTensor[]> {
    const states = [...this.moments.entries()];
    return [
      { name: 'iter', tensor: tf.scalar(this.step, 'int32') },
      ...states.map(([name, { m }]) => ({ name: `${name}/m`, tensor: m as tf.Tensor })),
      ...states.map(([name, { v }]) => ({ name: `${name}/v`, tensor: v as tf.Tensor })),
    ];
  }

  /** Restores what getWeights returned (copies: the caller keeps its tensors); before the first update only. */
  async setWeights(weights: NamedTensor[]): Promise<void> {
    if (this.moments.size > 0) throw new Error('LeanAdam.setWeights: the optimizer has already updated variables');
    const [iter, ...moments] = weights;
    this.step = (await iter.tensor.data())[0];
    const n = moments.length / 2;
    this.disposeRestored();
    this.restored = moments.slice(0, n).map((m, i) => ({ m: tf.variable(m.tensor, false), v: tf.variable(moments[n + i].tensor, false) }));
  }

  private disposeRestored(): void {
    for (const { m, v } of this.restored.slice(this.moments.size)) {
      m.dispose();
      v.dispose();
    }
    this.restored = [];
  }

  dispose(): void {
    this.disposeRestored();
    for (const { m, v } of this.moments.values()) {
      m.dispose();
      v.dispose();
    }
    this.moments.clear();
  }
}
