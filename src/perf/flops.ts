/**
 * Arithmetic per image of `bench perf`'s nets and the machine's peak, so the
 * distance to the physical limit is visible next to img/s. Counts the
 * multiply-adds of the layers that hold nearly all of it (convolutions,
 * up-convolutions, dense and channel-wise dense layers) as 2 FLOPs each;
 * BatchNorm, activations and pooling are memory-bound and left out.
 */
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { isConv2DLayer, isConv2DTransposeLayer } from '../models/relu-conv.js';

type Shape = (number | null)[];

function spatial(shape: Shape): number {
  return shape.slice(1, -1).reduce<number>((a, b) => a * (b ?? 1), 1);
}

/** Forward FLOPs of one image through `model`. */
export function forwardFlopsPerImage(model: tf.LayersModel): number {
  let flops = 0;
  for (const layer of model.layers) {
    // A nested model (e.g. an encoder inside the generator) counts its own layers.
    if (layer instanceof tf.LayersModel) {
      flops += forwardFlopsPerImage(layer);
      continue;
    }
    const kernel = layer.getWeights()[0];
    if (!kernel) continue;
    const kind = layer.getClassName();
    const input = (Array.isArray(layer.input) ? layer.input[0] : layer.input).shape as Shape;
    const output = (Array.isArray(layer.output) ? layer.output[0] : layer.output).shape as Shape;
    if (isConv2DLayer(layer)) {
      // kernel [kh, kw, cin, cout]: every output position takes kh*kw*cin multiply-adds per output channel.
      flops += 2 * spatial(output) * kernel.size;
    } else if (isConv2DTransposeLayer(layer)) {
      // kernel [kh, kw, cout, cin]: every input position scatters kh*kw*cout values per input channel.
      flops += 2 * spatial(input) * kernel.size;
    } else if (kind === 'Dense') {
      flops += 2 * spatial(input) * kernel.size;
    } else if (kind === 'ChannelwiseDense') {
      // kernel [channels, in, out]: one dense map per channel.
      flops += 2 * kernel.size;
    }
  }
  return flops;
}

export interface MachinePeak {
  cores: number;
  ghz: number;
  /** fp32 FLOPs per cycle per core, as assumed below. */
  nativeFlopsPerCycle: number;
  wasmFlopsPerCycle: number;
  native_gflop_s: number;
  wasm_simd128_gflop_s: number;
  derivation: string;
}

/**
 * Peak fp32 arithmetic of this machine's cores from /proc/cpuinfo: the clock
 * it reports (base, not boost), and the SIMD width of its flags.
 * - native: lanes (16 with avx512f, 8 with avx2, else 4) x 2 (fused
 *   multiply-add) x 2 FMA pipes per core, with AVX-512 counted as two 256-bit
 *   pipes where the CPU is AMD (Zen 4 splits it) - what oneDNN can reach;
 * - wasm SIMD128 (what tfjs's XNNPACK build runs): 4 lanes, no FMA in this
 *   build, so a multiply and an add are separate instructions; 2 multiply and
 *   2 add pipes per core give 4 instructions x 4 lanes = 16 FLOPs a cycle.
 */
export function machinePeak(cores = availableParallelism()): MachinePeak {
  let info = '';
  try {
    info = readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    // Not Linux: the clock and flags stay unknown (peak 0).
  }
  const mhz = Number(/^cpu MHz\s*:\s*([\d.]+)/m.exec(info)?.[1] ?? 0);
  const flags = new Set((/^flags\s*:(.*)$/m.exec(info)?.[1] ?? '').trim().split(/\s+/));
  const amd = /AuthenticAMD/.test(info);
  const lanes = flags.has('avx512f') && !amd ? 16 : flags.has('avx2') || flags.has('avx512f') ? 8 : 4;
  const fma = flags.has('fma') ? 2 : 1;
  const nativeFlopsPerCycle = lanes * fma * 2;
  const wasmFlopsPerCycle = 16;
  const ghz = mhz / 1000;
  return {
    cores,
    ghz,
    nativeFlopsPerCycle,
    wasmFlopsPerCycle,
    native_gflop_s: Math.round(cores * ghz * nativeFlopsPerCycle * 10) / 10,
    wasm_simd128_gflop_s: Math.round(cores * ghz * wasmFlopsPerCycle * 10) / 10,
    derivation: `${cores} cores x ${ghz.toFixed(2)} GHz (/proc/cpuinfo) x ${nativeFlopsPerCycle} FLOP/cycle native (${lanes} fp32 lanes x ${fma} (FMA) x 2 pipes), x ${wasmFlopsPerCycle} FLOP/cycle wasm SIMD128 (4 lanes x 4 mul/add pipes, no FMA)`,
  };
}
