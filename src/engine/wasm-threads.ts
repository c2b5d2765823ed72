/**
 * Threads for the wasm backend in Node. tfjs-backend-wasm ships a threaded
 * SIMD build (Emscripten pthreads over worker_threads, which supports Node),
 * but its own loader hands Emscripten the worker script and the main script
 * as blob URLs, which Node's Worker refuses, so in Node it never starts a
 * thread. Here the same build is loaded from files: the worker script (the
 * package exports its text) is written once to a .cjs file in the OS temp
 * folder, and the main script is the package's own wasm-out file. The
 * backend object is tfjs's own BackendWasm, registered under the name
 * 'wasm', so every kernel (tfjs's and ours in ./kernels) runs unchanged.
 *
 * Threads split XNNPACK's work (GEMM tiles, convolution rows) between
 * workers; each output value is still summed by one thread in the same
 * order, so results do not depend on the thread count (test/engine/threads).
 */
import * as tf from '@tensorflow/tfjs';
import * as wasm from '@tensorflow/tfjs-backend-wasm';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import { dirname, join } from 'node:path';
import { UserError } from '../errors.js';

const require = createRequire(import.meta.url);

/** The environment variable that carries the thread count to every process of a run (pool workers, SLURM tasks). */
export const THREADS_ENV = 'BENCH_THREADS';

/** tfjs-backend-wasm pre-creates 8 workers and caps its pool there. */
export const MAX_WASM_THREADS = 8;

/** What tfjs-backend-wasm registers 'wasm' with; kept so ours wins the same way. */
const WASM_PRIORITY = 2;

/** Parses a thread count given by a user (option or environment); `source` names it in the error. */
export function parseThreads(value: string, source: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > MAX_WASM_THREADS) {
    throw new UserError(`${source} ${value}: use a whole number from 1 to ${MAX_WASM_THREADS} (threads of the wasm backend)`);
  }
  return n;
}

/**
 * Threads for this process: BENCH_THREADS (set by --threads, and by the pool
 * executor for its workers), else the CPUs SLURM gave the task, else the
 * cores this process may use; at most MAX_WASM_THREADS.
 */
export function wasmThreadCount(env: NodeJS.ProcessEnv = process.env): number {
  const given = env[THREADS_ENV];
  if (given !== undefined && given !== '') return parseThreads(given, THREADS_ENV);
  const slurm = Number(env.SLURM_CPUS_PER_TASK);
  if (Number.isInteger(slurm) && slurm >= 1) return Math.min(slurm, MAX_WASM_THREADS);
  return Math.min(os.availableParallelism(), MAX_WASM_THREADS);
}

/** A script as a file in the OS temp folder: written once per content (its hash names it), atomically, so concurrent processes agree. */
function tmpScriptFile(kind: string, script: string): string {
  const file = join(os.tmpdir(), `ceb-tfjs-wasm-${kind}-${createHash('sha256').update(script).digest('hex').slice(0, 16)}.cjs`);
  if (!existsSync(file)) {
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, script);
    renameSync(tmp, file);
  }
  return file;
}

/** The worker script as a file. */
function workerScriptFile(contents: string): string {
  // The package keeps the script in a template literal whose "\n" became real newlines inside string literals.
  return tmpScriptFile('worker', contents.replace(/\n/g, '\\n'));
}

/** How the build fixes the number of workers Emscripten starts with the module. */
const POOL_SIZE_SOURCE = 'var pthreadPoolSize=8;';

/**
 * The main script with Emscripten's worker pool cut to the workers XNNPACK's
 * pool will hold (threads - 1; the calling thread is the last one). The build
 * starts 8 workers, each a V8 isolate, before the first kernel runs;
 * terminating the idle ones afterwards still left ce-alexnet's peak RSS at
 * 914 MB against 881 MB with the pool cut (2 threads, BENCHMARKS.md). A
 * build without that line (another tfjs version) is used as it is.
 */
function mainScriptFile(original: string, threads: number): string {
  const source = readFileSync(original, 'utf8');
  if (!source.includes(POOL_SIZE_SOURCE)) return original;
  return tmpScriptFile('main', source.replace(POOL_SIZE_SOURCE, `var pthreadPoolSize=${threads - 1};`));
}

interface EmscriptenModule {
  cwrap(name: string, returns: string | null, args: string[]): (...args: number[]) => number;
  tfjs?: Record<string, unknown>;
  PThread?: { unusedWorkers: { terminate(): void }[]; runningWorkers: { unref(): void }[] };
}

/**
 * Registers the threaded build as the 'wasm' backend with `threads` threads.
 * Call before the wasm backend first initialises (a backend that already runs
 * keeps its threads: its tensors live in its memory).
 */
export function registerThreadedWasm(threads: number): void {
  const out = join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'wasm-out');
  const mainScript = mainScriptFile(join(out, 'tfjs-backend-wasm-threaded-simd.js'), threads);
  const factory = require(mainScript) as (config: Record<string, unknown>) => Promise<EmscriptenModule>;
  const { wasmWorkerContents } = require(join(out, 'tfjs-backend-wasm-threaded-simd.worker.js')) as { wasmWorkerContents: string };
  const workerFile = workerScriptFile(wasmWorkerContents);
  wasm.setThreadsCount(threads);
  tf.removeBackend('wasm');
  tf.registerBackend(
    'wasm',
    async () => {
      // backend.cc caps its pool at emscripten_num_logical_cores() / 2 (it
      // assumes two hyper-threads per core), which Emscripten reads from
      // os.cpus() once while the module starts: report twice the threads
      // asked for during start-up only.
      // (The CommonJS module object: the one Emscripten's require('os') gets, and writable, unlike an ES namespace.)
      const nodeOs = require('node:os') as { cpus: typeof os.cpus };
      const cpus = nodeOs.cpus;
      nodeOs.cpus = () => Array.from({ length: 2 * threads }, () => cpus()[0]);
      let instance: EmscriptenModule;
      try {
        instance = await factory({
          locateFile: (path: string) => (path.endsWith('.worker.js') ? workerFile : join(out, path)),
          mainScriptUrlOrBlob: mainScript,
        });
      } finally {
        nodeOs.cpus = cpus;
      }
      // The same bridge tfjs-backend-wasm's own loader builds.
      instance.tfjs = {
        init: instance.cwrap('init', null, []),
        initWithThreadsCount: instance.cwrap('init_with_threads_count', null, ['number']),
        getThreadsCount: instance.cwrap('get_threads_count', 'number', []),
        registerTensor: instance.cwrap('register_tensor', null, ['number', 'number', 'number']),
        disposeData: instance.cwrap('dispose_data', null, ['number']),
        dispose: instance.cwrap('dispose', null, []),
      };
      const backend = new wasm.BackendWasm(instance as never);
      // XNNPACK's pool (created just now) holds threads - 1 workers and
      // never creates more; any idle rest (a build whose pool size could not
      // be set) only holds memory (a V8 isolate and the glue each).
      for (const worker of instance.PThread?.unusedWorkers.splice(0) ?? []) worker.terminate();
      // Emscripten keeps a running pthread's worker referenced so Node waits
      // for it; the pool's threads run (wait for work) forever, so without
      // this no process that used them would exit on its own.
      for (const worker of instance.PThread?.runningWorkers ?? []) worker.unref();
      return backend;
    },
    WASM_PRIORITY,
  );
}

let prepared = false;

/**
 * Makes the next wasm initialisation use `threads` threads (1: tfjs's own
 * single-threaded SIMD build, as before threads existed). Only the first
 * call of a process decides; later calls, or a call after the wasm backend
 * was registered some other way, change nothing (wasmThreadsInUse says what
 * the backend has).
 */
export function prepareWasmThreads(threads: number): void {
  if (prepared || tf.findBackend('wasm') !== null) return;
  prepared = true;
  if (threads > 1) registerThreadedWasm(threads);
}

/** The threads of the initialised wasm backend (XNNPACK's pool size). */
export function wasmThreadsInUse(): number {
  return wasm.getThreadsCount();
}
