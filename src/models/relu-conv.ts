/**
 * Convolutions with a ReLU that stay one op while training. tfjs fuses
 * conv + bias + activation only outside a gradient tape (`shouldFuse` in
 * tfjs-core's fused ops); under the tape a `conv2d({activation: 'relu'})`
 * layer runs Conv2D, then Add, then Relu, and the tape keeps all three
 * full-size outputs until the step ends, and their three gradients too (tfjs
 * frees no gradient before the backward pass is over). At 227 px and batch 16
 * that is most of a context encoder step's tensor peak.
 *
 * ReluConv2D and ReluConv2DTranspose are tfjs's Conv2D and Conv2DTranspose
 * (same config, same weights and names, same initialisers) whose call is one
 * op with its own gradient: the tape keeps only the input, the kernel and the
 * output, and the backward pass forms dy * (y > 0) and frees it. Both run
 * the same kernels as tfjs's layers in the same order, so outputs and
 * gradients are bit-identical to theirs: only what is kept changes (and
 * outside a tape they are tfjs's layers, unchanged). The
 * convolution is a kernel of its own; the transposed one a tf.customGrad op
 * (whose gradient is computed for every input, needed or not: fine for a
 * decoder layer, whose input always needs one).
 *
 * Checkpoints: a model saved before these classes existed names its layers
 * Conv2D / Conv2DTranspose and loads as it did (tfjs's own classes, unfused);
 * models built now save the new class names.
 */
import * as tf from '@tensorflow/tfjs';
import type { Conv2D, Conv2DTranspose } from '@tensorflow/tfjs-layers/dist/layers/convolutional.js';
import { taping } from '../engine/taping.js';

type ConvArgs = Parameters<typeof tf.layers.conv2d>[0];

// tfjs-layers exports these classes' factories, not the classes themselves.
const Conv2DBase = tf.layers.conv2d({ filters: 1, kernelSize: 1 }).constructor as typeof Conv2D;
const Conv2DTransposeBase = tf.layers.conv2dTranspose({ filters: 1, kernelSize: 1 }).constructor as typeof Conv2DTranspose;

type Pad = 'same' | 'valid';

interface ConvAttrs {
  strides: [number, number];
  pad: Pad;
}

/**
 * Gradient of relu(z) given its output y: dy where y > 0 (as tfjs's Relu and
 * fused-conv gradients). dy is then spent: tfjs's backward pass reads the
 * gradient of a node's output once, to call that node's gradient, and frees
 * nothing before the pass ends (it does free a gradient it replaces by a
 * sum). So dy is freed here, when the pass itself made it (it is tracked by
 * the pass's scope; a dy the caller passed to tf.grad is left alone). That
 * keeps one full-size tensor per layer alive through the backward pass (dz)
 * where tfjs's unfused layer kept two.
 */
function reluGradSpendingDy(dy: tf.Tensor, y: tf.Tensor): tf.Tensor {
  const dz = tf.mul(dy, tf.step(y));
  if (tf.engine().state.activeScope?.track.includes(dy)) dy.dispose();
  return dz;
}

/**
 * relu(conv2d(x, w) + b) as a kernel of its own, so that its gradient is
 * tfjs's lazy per-input kind: the tape asks only for the inputs that lead to
 * a variable (conv1's input is the image: no gradient for it is computed, as
 * for tfjs's own Conv2D).
 */
const CONV_BIAS_RELU = 'CebConv2DBiasRelu';

function convAttrs(attrs: ConvAttrs): tf.NamedAttrMap {
  return { strides: attrs.strides, pad: attrs.pad, dataFormat: 'NHWC', dimRoundingMode: undefined } as unknown as tf.NamedAttrMap;
}

tf.registerGradient({
  kernelName: CONV_BIAS_RELU,
  inputsToSave: ['x', 'filter'],
  outputsToSave: [true],
  gradFunc: (dy, saved, attrs) => {
    const [x, filter, y] = saved;
    const geometry = convAttrs(attrs as unknown as ConvAttrs);
    // Formed once, here, not per input gradient asked for (two element-wise
    // passes each: about 14% of a ce-alexnet-small training step).
    const dz = reluGradSpendingDy(dy as tf.Tensor, y);
    return {
      x: () => tf.engine().runKernel(tf.Conv2DBackpropInput, { dy: dz, filter }, { ...geometry, inputShape: x.shape } as tf.NamedAttrMap) as tf.Tensor,
      filter: () => tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy: dz }, { ...geometry, filterShape: filter.shape } as tf.NamedAttrMap) as tf.Tensor,
      bias: () => tf.sum(dz, [0, 1, 2]),
    };
  },
});

/**
 * Registers the kernel on the current backend (once): the backend's own
 * Conv2D, Add and Relu kernels, each intermediate freed as soon as the next
 * has read it. The same kernels in the same order as tfjs's unfused training
 * path, so values and gradients are bit-identical to tfjs's layer (and every
 * result recorded before this op existed stands). The backend's FusedConv2D
 * would save the two element-wise passes, but it adds the bias inside the
 * convolution's sum, which changes the rounding; the passes are under 2% of
 * a ce-alexnet step (BENCHMARKS.md), the memory is what pays.
 */
function ensureConvBiasReluKernel(): void {
  const backendName = tf.getBackend();
  if (tf.getKernel(CONV_BIAS_RELU, backendName)) return;
  const kernel = (name: string): tf.KernelFunc => {
    const k = tf.getKernel(name, backendName);
    if (!k) throw new Error(`ReluConv2D: backend ${backendName} has no ${name} kernel`);
    return k.kernelFunc;
  };
  const [conv, add, relu] = [kernel(tf.Conv2D), kernel(tf.Add), kernel(tf.Relu)];
  tf.registerKernel({
    kernelName: CONV_BIAS_RELU,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, filter, bias } = inputs as { x: tf.TensorInfo; filter: tf.TensorInfo; bias: tf.TensorInfo };
      const z = conv({ inputs: { x, filter }, backend, attrs: { ...attrs, dilations: [1, 1] } }) as tf.TensorInfo;
      const biased = add({ inputs: { a: z, b: bias }, backend, attrs: {} }) as tf.TensorInfo;
      (backend as tf.KernelBackend).disposeData(z.dataId);
      const y = relu({ inputs: { x: biased }, backend, attrs: {} }) as tf.TensorInfo;
      (backend as tf.KernelBackend).disposeData(biased.dataId);
      return y;
    },
  });
}

function conv2dBiasRelu(x: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor1D, g: ConvAttrs): tf.Tensor4D {
  ensureConvBiasReluKernel();
  return tf.engine().runKernel(CONV_BIAS_RELU, { x, filter: w, bias: b }, convAttrs(g)) as tf.Tensor4D;
}

/** relu(conv2dTranspose(x, w) + b) as one op, with its gradient (tfjs's Conv2DBackpropInput gradient, through the ReLU). */
function conv2dTransposeBiasRelu(x: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor1D, outShape: [number, number, number, number], g: ConvAttrs): tf.Tensor4D {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xIn, wIn, bIn, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    // The same kernels tfjs-layers runs for this layer, so values are unchanged; only the intermediates are not kept.
    const y = tf.relu(tf.add(tf.conv2dTranspose(xIn as tf.Tensor4D, wIn as tf.Tensor4D, outShape, g.strides, g.pad), tf.reshape(bIn, [1, 1, 1, -1])));
    save([xIn, wIn, y]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, ws, ys] = saved;
        const dz = reluGradSpendingDy(dy, ys);
        return [
          tf.conv2d(dz as tf.Tensor4D, ws as tf.Tensor4D, g.strides, g.pad),
          tf.engine().runKernel(
            tf.Conv2DBackpropFilter,
            { x: dz, dy: xs },
            { strides: g.strides, pad: g.pad, dataFormat: 'NHWC', dimRoundingMode: undefined, filterShape: ws.shape } as unknown as tf.NamedAttrMap,
          ) as tf.Tensor,
          tf.sum(dz, [0, 1, 2]),
        ];
      },
    };
  });
  return op(x, w, b) as tf.Tensor4D;
}

function onlyTensor(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor4D {
  return (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
}

/** Whether a layer's settings are the ones the fused op covers (tfjs's conv gradients need dilation 1); others run tfjs's own call. */
function fusable(activation: string, hasBias: boolean, dataFormat: string, dilationRate: number[]): boolean {
  return activation === 'relu' && hasBias && dataFormat === 'channelsLast' && dilationRate.every((d) => d === 1);
}

type Kwargs = Parameters<Conv2D['call']>[1];

// Outside a gradient tape tfjs's layer already runs one kernel (FusedConv2D)
// and keeps nothing: that path stays as it is, so inference is unchanged.

export class ReluConv2D extends Conv2DBase {
  static override className = 'ReluConv2D';

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor {
    if (!taping() || !fusable(this.activation.getClassName(), this.bias != null, this.dataFormat, this.dilationRate)) return super.call(inputs, kwargs) as tf.Tensor;
    return conv2dBiasRelu(onlyTensor(inputs), this.kernel.read() as tf.Tensor4D, this.bias.read() as tf.Tensor1D, {
      strides: this.strides as [number, number],
      pad: this.padding as Pad,
    });
  }
}

export class ReluConv2DTranspose extends Conv2DTransposeBase {
  static override className = 'ReluConv2DTranspose';

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor {
    if (!taping() || !fusable(this.activation.getClassName(), this.bias != null, this.dataFormat, this.dilationRate)) return super.call(inputs, kwargs) as tf.Tensor;
    const x = onlyTensor(inputs);
    const outShape = this.computeOutputShape(x.shape) as [number, number, number, number];
    return conv2dTransposeBiasRelu(x, this.kernel.read() as tf.Tensor4D, this.bias.read() as tf.Tensor1D, outShape, {
      strides: this.strides as [number, number],
      pad: this.padding as Pad,
    });
  }
}

tf.serialization.registerClass(ReluConv2D);
tf.serialization.registerClass(ReluConv2DTranspose);

/** A conv2d layer: with `activation: 'relu'` a ReluConv2D (one fused op in training too), else tfjs's own. */
export function reluConv2d(args: ConvArgs): tf.layers.Layer {
  return args.activation === 'relu' ? new ReluConv2D(args as ConstructorParameters<typeof Conv2D>[0]) : tf.layers.conv2d(args);
}

/** A conv2dTranspose layer: with `activation: 'relu'` a ReluConv2DTranspose (one op in training too), else tfjs's own. */
export function reluConv2dTranspose(args: ConvArgs): tf.layers.Layer {
  return args.activation === 'relu' ? new ReluConv2DTranspose(args as ConstructorParameters<typeof Conv2DTranspose>[0]) : tf.layers.conv2dTranspose(args);
}

/** Whether a layer is a 2-D convolution, tfjs's or ours (code that walks a model by layer kind asks this, not for 'Conv2D'). */
export function isConv2DLayer(layer: tf.layers.Layer): boolean {
  const name = layer.getClassName();
  return name === 'Conv2D' || name === ReluConv2D.className;
}

/** Whether a layer is a 2-D transposed convolution, tfjs's or ours. */
export function isConv2DTransposeLayer(layer: tf.layers.Layer): boolean {
  const name = layer.getClassName();
  return name === 'Conv2DTranspose' || name === ReluConv2DTranspose.className;
}
