/**
 * `bench perf`: times full training steps and inference passes of one net
 * (./nets.ts) on random data after a warm-up step, and prints one JSON line
 * with the fields bench/torch_reference.py prints for the same net.
 */
import * as tf from '@tensorflow/tfjs';
import { getThreadsCount, type BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { initBackend, type BackendChoice } from '../engine/backend.js';
import { UserError } from '../errors.js';
import { forwardFlopsPerImage, machinePeak } from './flops.js';
import { buildPerfSession, countTrainable } from './nets.js';
import { DEFAULT_SIZE, type PerfNet } from './options.js';

export interface PerfOptions {
  net: PerfNet;
  /** Default: 64 for ce-dcgan, 227 for ce-alexnet, 32 for ce-alexnet-small. */
  size?: number;
  batch: number;
  bottleneck: number;
  /** Timed training steps (and as many timed forward passes). */
  steps: number;
  backend: BackendChoice;
  /** `stock`: tfjs-backend-wasm's own gradient kernels, for the before/after comparison. */
  kernels: 'fast' | 'stock';
  /** Print a per-kernel profile of one training step to stderr. */
  profile: boolean;
}

export interface PerfResult {
  framework: string;
  backend: string;
  net: PerfNet;
  size: number;
  batch: number;
  bottleneck?: number;
  threads: number;
  steps: number;
  train_img_s: number;
  fwd_img_s: number;
  peak_rss_mb: number;
  params_G: number;
  params_D?: number;
  /** The generator's output for one batch, NHWC (torch_reference.py prints its NCHW output in this order too). */
  out_shape: number[];
  /** Forward GFLOPs of one image through the generator (multiply-adds x 2 of convs, up-convs and dense layers; flops.ts). */
  gflop_per_img: number;
  /** Achieved arithmetic: forward passes, and training steps counted as 3 forward passes (forward + two backward) of G and of D on real and fake. */
  fwd_gflop_s: number;
  train_gflop_s: number;
  /** The machine's fp32 peak (flops.ts: cores x clock x FLOP/cycle), native and for wasm SIMD128. */
  peak_native_gflop_s: number;
  peak_wasm_simd128_gflop_s: number;
  /** Live tensors and resident memory after the warm-up step and after the last timed step. */
  tensors_warm: number;
  tensors_end: number;
  rss_warm_mb: number;
  rss_end_mb: number;
  /** Resident memory and wasm heap at ten evenly spaced points of the timed steps (the last is after the last step). */
  rss_curve_mb: number[];
  wasm_heap_curve_mb?: number[];
  wasm_heap_mb?: number;
}

/**
 * tfjs-backend-wasm's own kernels only: Conv2DBackpropFilter (which it lacks)
 * as its depth-1 Conv3DBackpropFilterV2, and its own Conv2DBackpropInput.
 */
function registerStockFilterGradient(): void {
  const conv3dFilter = tf.getKernel('Conv3DBackpropFilterV2', 'wasm');
  if (!conv3dFilter) throw new Error('tfjs-backend-wasm has no Conv3DBackpropFilterV2 kernel');
  tf.registerKernel({
    kernelName: tf.Conv2DBackpropFilter,
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
      const { strides, pad, filterShape } = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
      const [sh, sw] = typeof strides === 'number' ? [strides, strides] : strides;
      if (typeof pad !== 'string') throw new Error('stock filter gradient: only same/valid padding');
      const out = conv3dFilter.kernelFunc({
        inputs: {
          x: { ...x, shape: [x.shape[0], 1, ...x.shape.slice(1)] },
          dy: { ...dy, shape: [dy.shape[0], 1, ...dy.shape.slice(1)] },
        },
        backend,
        attrs: { strides: [1, sh, sw], pad, filterShape: [1, ...filterShape] },
      }) as tf.TensorInfo;
      return { ...out, shape: filterShape };
    },
  });
}

const mb = (bytes: number): number => Math.round(bytes / 2 ** 20);
const round2 = (x: number): number => Math.round(x * 100) / 100;

function wasmHeapMb(): number | undefined {
  if (tf.getBackend() !== 'wasm') return undefined;
  // EmscriptenModule (which declares HEAPU8) is not among our type roots.
  return mb(((tf.backend() as BackendWasm).wasm as unknown as { HEAPU8: Uint8Array }).HEAPU8.buffer.byteLength);
}

/**
 * Per-kernel time of one call of `f`, to stderr: by kernel, then the
 * costliest calls by kernel and shapes. Op-level scopes (`*__op`, e.g.
 * fusedConv2d__op around FusedConv2D) are left out so nothing counts twice.
 */
async function printProfile(label: string, f: () => void): Promise<void> {
  const info = await tf.profile(f);
  const kernels = info.kernels.filter((k) => !k.name.endsWith('__op'));
  const ms = (k: (typeof kernels)[number]): number => (typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0);
  const group = (key: (k: (typeof kernels)[number]) => string) => {
    const m = new Map<string, { count: number; ms: number }>();
    for (const k of kernels) {
      const e = m.get(key(k)) ?? { count: 0, ms: 0 };
      e.count++;
      e.ms += ms(k);
      m.set(key(k), e);
    }
    return [...m.entries()].sort((a, b) => b[1].ms - a[1].ms);
  };
  const total = kernels.reduce((sum, k) => sum + ms(k), 0);
  const row = ([name, e]: [string, { count: number; ms: number }]): string =>
    `${String(e.count).padStart(5)} ${e.ms.toFixed(0).padStart(6)} ${((100 * e.ms) / total).toFixed(1).padStart(5)}%  ${name}`;
  const lines = [
    `profile of one ${label}: ${kernels.length} kernel calls, ${total.toFixed(0)} ms in kernels, peak ${mb(info.peakBytes)} MB of tensors`,
    'calls     ms share  kernel',
    ...group((k) => k.name).map(row),
    'costliest calls by shape (inputs -> output):',
    ...group((k) => `${k.name} ${k.inputShapes.map((s) => `[${s}]`).join(' ')} -> ${k.outputShapes.map((s) => `[${s}]`).join(' ')}`).slice(0, 25).map(row),
  ];
  process.stderr.write(`${lines.join('\n')}\n`);
}

export async function runPerf(opts: PerfOptions): Promise<PerfResult> {
  const size = opts.size ?? DEFAULT_SIZE[opts.net];
  if (!Number.isInteger(opts.batch) || opts.batch < 1) throw new UserError(`--batch ${opts.batch}: must be a positive integer`);
  if (!Number.isInteger(opts.steps) || opts.steps < 1) throw new UserError(`--steps ${opts.steps}: must be a positive integer`);
  let backendName: string;
  if (opts.kernels === 'stock') {
    if (opts.backend !== 'wasm') throw new UserError('--kernels stock: only with --backend wasm');
    registerStockFilterGradient();
    await tf.setBackend('wasm');
    await tf.ready();
    backendName = 'wasm-stock';
  } else {
    backendName = (await initBackend(opts.backend)).name;
  }

  const session = buildPerfSession({ net: opts.net, size, batch: opts.batch, bottleneck: opts.bottleneck });
  session.trainStep();
  const tensorsWarm = tf.memory().numTensors;
  const rssWarm = process.memoryUsage().rss;
  const rssCurve: number[] = [];
  const heapCurve: number[] = [];
  const sampleEvery = Math.max(1, Math.floor(opts.steps / 10));
  let t = performance.now();
  for (let i = 1; i <= opts.steps; i++) {
    session.trainStep();
    if (i % sampleEvery === 0 || i === opts.steps) {
      rssCurve.push(mb(process.memoryUsage.rss()));
      const heap = wasmHeapMb();
      if (heap !== undefined) heapCurve.push(heap);
    }
  }
  const train = (opts.batch * opts.steps) / ((performance.now() - t) / 1000);
  const tensorsEnd = tf.memory().numTensors;
  const rssEnd = process.memoryUsage().rss;
  if (opts.profile) await printProfile(`${opts.net} training step`, session.trainStep);

  session.forward();
  t = performance.now();
  for (let i = 0; i < opts.steps; i++) session.forward();
  const fwd = (opts.batch * opts.steps) / ((performance.now() - t) / 1000);
  if (opts.profile) await printProfile(`${opts.net} forward pass`, session.forward);

  const gFlops = forwardFlopsPerImage(session.generator);
  const dFlops = session.discriminator ? 2 * forwardFlopsPerImage(session.discriminator) : 0;
  const peak = machinePeak();
  const result: PerfResult = {
    framework: `tfjs ${tf.version.tfjs}`,
    backend: backendName,
    net: opts.net,
    size,
    batch: opts.batch,
    ...(opts.net === 'ce-dcgan' ? { bottleneck: opts.bottleneck } : {}),
    threads: backendName.startsWith('wasm') ? getThreadsCount() : 1,
    steps: opts.steps,
    train_img_s: round2(train),
    fwd_img_s: round2(fwd),
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    gflop_per_img: round2(gFlops / 1e9),
    fwd_gflop_s: round2((fwd * gFlops) / 1e9),
    train_gflop_s: round2((train * 3 * (gFlops + dFlops)) / 1e9),
    peak_native_gflop_s: peak.native_gflop_s,
    peak_wasm_simd128_gflop_s: peak.wasm_simd128_gflop_s,
    params_G: countTrainable(session.generator),
    ...(session.discriminator ? { params_D: countTrainable(session.discriminator) } : {}),
    out_shape: session.generator.outputs[0].shape.map((d) => d ?? opts.batch),
    tensors_warm: tensorsWarm,
    tensors_end: tensorsEnd,
    rss_warm_mb: mb(rssWarm),
    rss_end_mb: mb(rssEnd),
    rss_curve_mb: rssCurve,
    ...(heapCurve.length > 0 ? { wasm_heap_curve_mb: heapCurve } : {}),
    wasm_heap_mb: wasmHeapMb(),
  };
  session.dispose();
  return result;
}

export async function perfCommand(opts: PerfOptions): Promise<void> {
  const result = await runPerf(opts);
  process.stderr.write(`peak: ${machinePeak().derivation}\n`);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
