/**
 * A training checkpoint: everything a loop needs to continue bit-identically
 * after a kill (model weights, plain variables such as a head built without
 * layers, Adam moments, step counts and bias-correction powers, SGD's
 * momentum accumulators, plus the loop's own JSON: step, random streams,
 * sampler position).
 * One file, written to a temporary name and renamed over the previous one,
 * so a kill at any moment leaves either the old checkpoint or the new one.
 *
 * Layout: 4-byte little-endian header length, the JSON header, then the
 * tensors' raw bytes in header order.
 */
import * as tf from '@tensorflow/tfjs';
import { readFile } from 'node:fs/promises';
import { UserError } from '../errors.js';
import { writeFileAtomic } from '../fs/atomic.js';

const FORMAT = 'context-encoder-bench training state 1';

interface TensorEntry {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
}

interface AdamPowers {
  accBeta1: number;
  accBeta2: number;
}

interface Header {
  format: string;
  extra: unknown;
  /** Per group (a model's weights, an optimizer's state), its tensors in order. */
  groups: Record<string, TensorEntry[]>;
  adam: Record<string, AdamPowers>;
}

/** An optimizer's state tensor as getWeights gives it (tfjs does not export its own type). */
export interface NamedTensor {
  name: string;
  tensor: tf.Tensor;
}

/** An Adam optimizer as a checkpoint holds it: tf.train.adam, or LeanAdam (engine/lean-adam.ts), which keeps the same layout. */
export interface CheckpointedAdam {
  /** A fresh step-count scalar first (disposed here), then the live moments. */
  getWeights(): Promise<NamedTensor[]>;
  setWeights(weights: NamedTensor[]): Promise<void>;
}

/** The optimizers a checkpoint can carry: Adam (tfjs's or LeanAdam), and SGD with momentum (tf.train.momentum). */
export type CheckpointedOptimizer = CheckpointedAdam | tf.MomentumOptimizer;

/** What a checkpoint holds besides the loop's JSON: named models, variable lists and optimizers. */
export interface TrainingParts {
  models: Record<string, tf.LayersModel>;
  /** Trained tensors that belong to no LayersModel, in a fixed order. */
  variables?: Record<string, tf.Variable[]>;
  optimizers: Record<string, CheckpointedOptimizer>;
}

/**
 * The group prefix of an optimizer's state. tfjs's optimizer classes answer
 * instanceof for any optimizer, so the kind comes from the class name; an
 * optimizer that is not tfjs's (LeanAdam) keeps Adam's layout. Adam keeps
 * the prefix it always had, so checkpoints written before SGD existed still
 * load.
 */
function optimizerKind(opt: CheckpointedOptimizer): 'adam' | 'momentum' {
  if (!(opt instanceof tf.Optimizer)) return 'adam';
  const name = opt.getClassName();
  if (name === 'Adam') return 'adam';
  if (name === 'Momentum') return 'momentum';
  throw new Error(`training checkpoints hold Adam or momentum optimizers, not ${name}`);
}

/** Every trained tensor of `parts`, with the name a message should give it. */
function namedWeights(parts: TrainingParts): { name: string; value: tf.Tensor }[] {
  return [
    ...Object.values(parts.models).flatMap((m) => m.weights.map((w) => ({ name: w.originalName, value: w.read() as tf.Tensor }))),
    ...Object.entries(parts.variables ?? {}).flatMap(([key, vars]) => vars.map((v, i) => ({ name: `${key}[${i}]`, value: v as tf.Tensor }))),
  ];
}

/**
 * tf.train.adam's bias corrections use beta^t, which tfjs keeps as a running
 * product; setWeights recomputes it with pow(), which differs in the last
 * bits for beta2 = 0.999, so the exact values travel with the checkpoint.
 * LeanAdam derives them from its step count alone: null.
 */
function adamPowers(opt: CheckpointedOptimizer): { accBeta1: tf.Variable; accBeta2: tf.Variable } | null {
  // By class name: tfjs's instanceof answers true for any of its optimizers.
  return opt instanceof tf.Optimizer && opt.getClassName() === 'Adam' ? (opt as unknown as { accBeta1: tf.Variable; accBeta2: tf.Variable }) : null;
}

/**
 * The name of the first weight holding NaN or Infinity, or null. The loss
 * alone does not show it: on wasm a ReLU can clamp a NaN away and the loss
 * stays finite.
 */
export function nonFiniteWeight(parts: TrainingParts): string | null {
  for (const { name, value } of namedWeights(parts)) {
    if (tf.tidy(() => tf.logicalNot(tf.isFinite(value)).any().dataSync()[0])) return name;
  }
  return null;
}

export async function saveTrainingState(path: string, parts: TrainingParts, extra: unknown): Promise<void> {
  const header: Header = { format: FORMAT, extra, groups: {}, adam: {} };
  const chunks: Uint8Array[] = [];
  const add = async (group: string, name: string, tensor: tf.Tensor): Promise<void> => {
    const values = (await tensor.data()) as Float32Array | Int32Array;
    header.groups[group].push({ name, shape: tensor.shape, dtype: tensor.dtype as TensorEntry['dtype'] });
    chunks.push(new Uint8Array(values.buffer, values.byteOffset, values.byteLength).slice());
  };
  for (const [key, model] of Object.entries(parts.models)) {
    const group = `model:${key}`;
    header.groups[group] = [];
    for (const w of model.weights) await add(group, w.originalName, w.read());
  }
  for (const [key, vars] of Object.entries(parts.variables ?? {})) {
    const group = `vars:${key}`;
    header.groups[group] = [];
    for (const [i, v] of vars.entries()) await add(group, `${key}[${i}]`, v);
  }
  for (const [key, opt] of Object.entries(parts.optimizers)) {
    const kind = optimizerKind(opt);
    const group = `${kind}:${key}`;
    header.groups[group] = [];
    // Adam: the step count, then first and second moments; momentum: the step count, then the accumulators.
    const weights = await opt.getWeights();
    for (const w of weights) await add(group, w.name, w.tensor);
    // getWeights makes a fresh scalar for the step count; the rest are the live variables.
    weights[0].tensor.dispose();
    const powers = kind === 'adam' ? adamPowers(opt) : null;
    if (powers) header.adam[key] = { accBeta1: (await powers.accBeta1.data())[0], accBeta2: (await powers.accBeta2.data())[0] };
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const length = new Uint8Array(4);
  new DataView(length.buffer).setUint32(0, json.byteLength, true);
  await writeFileAtomic(path, Buffer.concat([length, json, ...chunks]));
}

function damaged(path: string, why: string): UserError {
  return new UserError(`${path}: training checkpoint is damaged (${why}); delete it to restart this job from step 0`);
}

function sameShape(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/**
 * Restores models, variables and optimizers from `path` and returns the
 * loop's JSON, or null when there is no checkpoint. A truncated file, or one
 * written for other networks, is an error: resuming must never quietly start
 * over. `accept` sees the loop's JSON first and may throw (e.g. for another
 * job's checkpoint) before anything is changed.
 */
export async function loadTrainingState(path: string, parts: TrainingParts, accept?: (extra: unknown) => void): Promise<unknown | null> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  if (bytes.byteLength < 4) throw damaged(path, `${bytes.byteLength} bytes`);
  const headerLength = bytes.readUInt32LE(0);
  if (4 + headerLength > bytes.byteLength) throw damaged(path, `truncated: ${bytes.byteLength} bytes, header alone needs ${4 + headerLength}`);
  let header: Header;
  try {
    header = JSON.parse(bytes.subarray(4, 4 + headerLength).toString('utf8')) as Header;
  } catch (err) {
    throw damaged(path, `header is not JSON: ${(err as Error).message}`);
  }
  if (header.format !== FORMAT) throw damaged(path, `format "${String(header.format)}", expected "${FORMAT}"`);
  const entries = Object.values(header.groups).flat();
  const dataBytes = entries.reduce((sum, e) => sum + 4 * e.shape.reduce((a, b) => a * b, 1), 0);
  if (4 + headerLength + dataBytes !== bytes.byteLength) {
    throw damaged(path, `truncated: ${bytes.byteLength} bytes, expected ${4 + headerLength + dataBytes}`);
  }
  accept?.(header.extra);

  let offset = 4 + headerLength;
  const read = (e: TensorEntry): tf.Tensor => {
    const count = e.shape.reduce((a, b) => a * b, 1);
    const copy = bytes.buffer.slice(bytes.byteOffset + offset, bytes.byteOffset + offset + 4 * count);
    offset += 4 * count;
    return tf.tensor(e.dtype === 'int32' ? new Int32Array(copy) : new Float32Array(copy), e.shape, e.dtype);
  };
  const architecture = (what: string): UserError =>
    new UserError(`${path}: training checkpoint is for a different network (${what}); delete it to restart this job from step 0`);

  // Check every group against the live networks before changing any of them.
  for (const [key, model] of Object.entries(parts.models)) {
    const saved = header.groups[`model:${key}`];
    if (!saved) throw architecture(`it has no ${key}`);
    if (saved.length !== model.weights.length) throw architecture(`${key}: ${saved.length} weights saved, the network has ${model.weights.length}`);
    model.weights.forEach((w, i) => {
      if (!sameShape(saved[i].shape, w.shape as number[])) {
        throw architecture(`${key} weight ${w.originalName}: shape [${saved[i].shape}] saved, the network has [${w.shape}]`);
      }
    });
  }
  for (const [key, vars] of Object.entries(parts.variables ?? {})) {
    const saved = header.groups[`vars:${key}`];
    if (!saved) throw architecture(`it has no ${key}`);
    if (saved.length !== vars.length) throw architecture(`${key}: ${saved.length} tensors saved, the network has ${vars.length}`);
    vars.forEach((v, i) => {
      if (!sameShape(saved[i].shape, v.shape)) throw architecture(`${key}[${i}]: shape [${saved[i].shape}] saved, the network has [${v.shape}]`);
    });
  }
  for (const [key, opt] of Object.entries(parts.optimizers)) {
    const kind = optimizerKind(opt);
    if (!header.groups[`${kind}:${key}`] || (adamPowers(opt) !== null && !header.adam[key])) throw architecture(`it has no ${kind} optimizer ${key}`);
  }

  for (const [group, saved] of Object.entries(header.groups)) {
    const [kind, key] = group.split(':');
    if (kind === 'model' && parts.models[key]) {
      const values = saved.map(read);
      parts.models[key].setWeights(values);
      tf.dispose(values);
    } else if (kind === 'vars' && parts.variables?.[key]) {
      const vars = parts.variables[key];
      for (const [i, e] of saved.entries()) {
        const value = read(e);
        vars[i].assign(value);
        value.dispose();
      }
    } else if ((kind === 'adam' || kind === 'momentum') && parts.optimizers[key] && optimizerKind(parts.optimizers[key]) === kind) {
      const values = saved.map((e) => ({ name: e.name, tensor: read(e) }));
      const opt = parts.optimizers[key];
      // setWeights makes its own variables of the values (sharing their data), so these handles can go.
      await opt.setWeights(values);
      tf.dispose(values.map((v) => v.tensor));
      const powers = adamPowers(opt);
      if (powers) {
        tf.tidy(() => {
          powers.accBeta1.assign(tf.scalar(header.adam[key].accBeta1));
          powers.accBeta2.assign(tf.scalar(header.adam[key].accBeta2));
        });
      }
    } else {
      offset += saved.reduce((sum, e) => sum + 4 * e.shape.reduce((a, b) => a * b, 1), 0);
    }
  }
  return header.extra;
}
