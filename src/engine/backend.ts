/**
 * Picks the tfjs compute backend. Native TensorFlow is an optional dependency
 * whose install downloads libtensorflow; where that failed npm dropped it, so
 * `auto` falls back to wasm, which gets the gradient kernels it lacks from
 * ./kernels.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import { UserError } from '../errors.js';
import { registerWasmGradientKernels } from './kernels/index.js';
import { prepareWasmThreads, wasmThreadCount, wasmThreadsInUse } from './wasm-threads.js';

export const BACKEND_CHOICES = ['auto', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

export interface BackendInfo {
  /** The tfjs backend name in use: 'tensorflow', 'wasm' or 'cpu'. */
  name: string;
  /** Why this one was chosen, for the log line. */
  reason: string;
  /** Threads of the wasm backend (1 for the others, whose own pools tfjs does not report). */
  threads: number;
}

const require = createRequire(import.meta.url);

/** Loads a native TensorFlow binding if one is installed; returns its package name. */
function tryLoadNative(): { pkg: string } | { error: string } {
  const errors: string[] = [];
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      require(pkg);
      return { pkg };
    } catch (err) {
      errors.push(`${pkg}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  return { error: errors.join('; ') };
}

/** The wasm backend with our gradient kernels and this process's threads (wasm-threads.ts); returns the threads it runs. */
async function setWasmBackend(): Promise<number> {
  registerWasmGradientKernels();
  prepareWasmThreads(wasmThreadCount());
  await tf.setBackend('wasm');
  await tf.ready();
  return wasmThreadsInUse();
}

let current: { choice: BackendChoice; info: BackendInfo } | null = null;

/** Selects and initialises the backend; idempotent for the same choice. */
export async function initBackend(choice: BackendChoice = 'auto'): Promise<BackendInfo> {
  // Re-selects when something else switched tfjs's backend since (tests compare backends).
  if (current && choice === current.choice && tf.getBackend() === current.info.name) return current.info;
  let info: BackendInfo;
  if (choice === 'tensorflow' || choice === 'auto') {
    const native = tryLoadNative();
    if ('pkg' in native && (await tf.setBackend('tensorflow'))) {
      info = { name: 'tensorflow', reason: `${native.pkg} loaded`, threads: 1 };
    } else if (choice === 'tensorflow') {
      const why = 'error' in native ? native.error : 'the tensorflow backend failed to initialise';
      throw new UserError(
        `--backend tensorflow: native TensorFlow is not available (${why}); install @tensorflow/tfjs-node or @tensorflow/tfjs-node-gpu, or use --backend wasm`,
      );
    } else {
      info = { name: 'wasm', reason: 'native TensorFlow (@tensorflow/tfjs-node[-gpu]) is not installed', threads: await setWasmBackend() };
    }
  } else if (choice === 'wasm') {
    info = { name: 'wasm', reason: 'chosen with --backend', threads: await setWasmBackend() };
  } else {
    await tf.setBackend(choice);
    await tf.ready();
    info = { name: choice, reason: 'chosen with --backend', threads: 1 };
  }
  current = { choice, info };
  return info;
}
