/**
 * A pretext training step (context encoder, AlexNet at 227 px full width,
 * batch 16, centre hole) with its images from the streaming loader vs from
 * images pre-decoded in memory, side by side in one process, alternating
 * blocks of steps so load on the machine hits both alike. See BENCHMARKS.md.
 *
 *   npx tsx bench/loader-speed.ts FOLDER [steps per block] [blocks]
 */
import * as tf from '@tensorflow/tfjs';
import { cropBatch, EpochSampler, loadImageBank } from '../src/data/batches.js';
import { readImageFolder } from '../src/data/folder.js';
import { StreamingCropLoader } from '../src/data/loader.js';
import { applyMask, makeMask } from '../src/data/masks.js';
import { BadSamples } from '../src/data/samples.js';
import { initBackend } from '../src/engine/backend.js';
import { Rng } from '../src/engine/random.js';
import { alexnetWidths } from '../src/models/alexnet.js';
import { buildContextEncoder } from '../src/models/context-encoder.js';
import { maskedL2 } from '../src/pretext/losses.js';

const [folder, stepsArg, blocksArg] = process.argv.slice(2);
const stepsPerBlock = Number(stepsArg ?? 5);
const blocks = Number(blocksArg ?? 4);
const size = 227;
const loadSize = Math.round(size * 1.15);
const batch = 16;

await initBackend('wasm');
const paths = (await readImageFolder(folder)).images.map((im) => im.path);
const { generator } = buildContextEncoder({ encoder: { inputSize: size, widths: alexnetWidths(1), seed: 1 } });
const vars = generator.trainableWeights.map((w) => w.read() as tf.Variable);
const optimizer = tf.train.adam(2e-4, 0.5);
const mask = makeMask(size, new Rng(1), { kind: 'center' });

async function step(images: Float32Array): Promise<void> {
  const per = size * size * 3;
  const input = new Float32Array(images.length);
  const weight = new Float32Array(batch * size * size);
  for (let b = 0; b < batch; b++) {
    input.set(applyMask(images.subarray(b * per, (b + 1) * per), mask), b * per);
    weight.set(mask.weight, b * size * size);
  }
  const x = tf.tensor4d(input, [batch, size, size, 3]);
  const y = tf.tensor4d(images, [batch, size, size, 3]);
  const w = tf.tensor4d(weight, [batch, size, size, 1]);
  const cost = optimizer.minimize(() => maskedL2(generator.apply(x, { training: true }) as tf.Tensor4D, y, w), true, vars);
  await cost!.data();
  tf.dispose([x, y, w, cost!]);
}

// Pre-decoded: the images a block uses, decoded before it is timed.
const rng = new Rng(3);
const memorySampler = new EpochSampler(paths.length, rng.fork('order-memory'));
const memoryCrops = rng.fork('crops-memory');
const loader = new StreamingCropLoader(paths, { loadSize, crop: size, batchSize: batch, prefetch: 3 }, new EpochSampler(paths.length, rng.fork('order')), rng.fork('crops'), new BadSamples());

await step((await loader.next()).images); // warm-up
const seconds = { loader: 0, predecoded: 0 };
for (let block = 0; block < blocks; block++) {
  const wanted = memorySampler.take(batch * stepsPerBlock);
  const bank = await loadImageBank(wanted.map((i) => paths[i]), loadSize, 'cover');
  let t = performance.now();
  for (let s = 0; s < stepsPerBlock; s++) await step(cropBatch(bank, Array.from({ length: batch }, (_, b) => s * batch + b), size, memoryCrops));
  seconds.predecoded += (performance.now() - t) / 1000;
  t = performance.now();
  for (let s = 0; s < stepsPerBlock; s++) await step((await loader.next()).images);
  seconds.loader += (performance.now() - t) / 1000;
}
await loader.close();
const steps = stepsPerBlock * blocks;
const loaderRate = (steps * batch) / seconds.loader;
const memoryRate = (steps * batch) / seconds.predecoded;
console.log(JSON.stringify({ images: paths.length, size, batch, steps, loader_img_s: +loaderRate.toFixed(2), predecoded_img_s: +memoryRate.toFixed(2), loader_vs_predecoded: +(loaderRate / memoryRate).toFixed(3) }));
