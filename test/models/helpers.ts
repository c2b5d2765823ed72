import * as tf from '@tensorflow/tfjs';

/** Every weight of `model` as plain arrays, by weight name, in order. */
export async function weightValues(model: tf.LayersModel): Promise<Float32Array[]> {
  return Promise.all(model.getWeights().map(async (w) => (await w.data()) as Float32Array));
}

/** Bitwise equality of two float arrays (unlike ===, tells -0 from 0 and matches NaN payloads). */
export function sameBits(a: Float32Array, b: Float32Array): boolean {
  return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
}

export function trainableCount(model: tf.LayersModel): number {
  return model.trainableWeights.reduce((sum, w) => sum + tf.util.sizeFromShape(w.shape as number[]), 0);
}

/** Deterministic input in [-1, 1] without drawing from tfjs's global RNG. */
export function patternImage(batch: number, size: number, phase = 0): tf.Tensor4D {
  const n = batch * size * size * 3;
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = Math.sin(i * 0.37 + phase) * 0.9;
  return tf.tensor4d(data, [batch, size, size, 3]);
}
