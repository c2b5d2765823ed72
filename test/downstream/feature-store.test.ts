import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { after, before, describe, it } from 'mocha';
import { FeatureStore } from '../../src/downstream/feature-store.js';
import { FeatureScaler, ScalerFit } from '../../src/downstream/features.js';
import { FEATURE_STORE_FILE } from '../../src/downstream/classification.js';
import { writeSyntheticVoc } from '../../src/data/synthetic.js';
import { initBackend } from '../../src/engine/backend.js';
import { Rng } from '../../src/engine/random.js';
import '../../src/models/custom-layers.js';
import { downstreamConfig, pretextConfig } from '../helpers/config.js';
import { runTask, trainPretext } from '../helpers/stages.js';

/** Floats whose bit patterns a lossy round trip would change: subnormals, -0, large and tiny magnitudes. */
function awkwardRows(rows: number, rowSize: number): Float32Array {
  const rng = new Rng(9);
  const out = new Float32Array(rows * rowSize);
  for (let i = 0; i < out.length; i++) out[i] = (rng.next() - 0.5) * 10 ** (rng.int(20) - 10);
  out[0] = -0;
  out[1] = 1e-40;
  out[2] = 3.4e38;
  return out;
}

function bits(a: Float32Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.length);
}

describe('feature store', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ceb-featstore-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('reads rows back bit-identical by index, in any order, from a file of exactly rows x rowSize floats; close deletes it', async () => {
    const rowSize = 5;
    const data = awkwardRows(11, rowSize);
    const path = join(dir, 'sub', 'rows.f32');
    const store = await FeatureStore.create(path, rowSize);
    // Appended in uneven chunks, as a last short chunk of images would be.
    await store.append(data.subarray(0, 4 * rowSize));
    await store.append(data.subarray(4 * rowSize, 10 * rowSize));
    await store.append(data.subarray(10 * rowSize));
    assert.equal(store.rows, 11);
    assert.equal((await stat(path)).size, 11 * rowSize * 4);
    const indices = [10, 0, 3, 3, 7, 1];
    const read = await store.read(indices);
    const expected = new Float32Array(indices.length * rowSize);
    indices.forEach((r, k) => expected.set(data.subarray(r * rowSize, (r + 1) * rowSize), k * rowSize));
    assert.deepEqual(bits(read), bits(expected));
    await assert.rejects(store.read([11]), /row 11 of 11/);
    await assert.rejects(store.append(new Float32Array(3)), /not whole rows of 5/);
    await store.close();
    assert.equal(existsSync(path), false);
  });

  it('truncates a leftover file of an interrupted run instead of reading it', async () => {
    const path = join(dir, 'left.f32');
    // As an interrupted run leaves it: rows written, never closed or deleted.
    await writeFile(path, new Uint8Array(Float32Array.from([1, 2, 3, 4]).buffer));
    const store = await FeatureStore.create(path, 2);
    assert.equal(store.rows, 0);
    assert.equal((await stat(path)).size, 0);
    await store.append(Float32Array.from([5, 6]));
    assert.deepEqual(Array.from(await store.read([0])), [5, 6]);
    await store.close();
  });

  it('ScalerFit fed chunk by chunk gives the very float32s of FeatureScaler.fit on the whole array (per element and per channel)', async () => {
    await initBackend('wasm');
    const shape = [2, 2, 3];
    const n = 13;
    const rng = new Rng(4);
    const features = Float32Array.from({ length: n * 12 }, () => rng.next() * 7 - 2);
    for (const perChannel of [false, true]) {
      const whole = FeatureScaler.fit(features, n, shape, perChannel);
      const chunked = new ScalerFit(shape, perChannel);
      for (const [a, b] of [[0, 5], [5, 6], [6, 13]]) chunked.add(features.subarray(a * 12, b * 12));
      const streamed = chunked.finish();
      const x = whole.applyInPlace(Float32Array.from(features));
      // Applied to a batch of rows at a time, as the frozen loop does.
      const y = new Float32Array(features.length);
      for (let i = 0; i < n; i += 4) y.set(streamed.applyInPlace(features.slice(i * 12, Math.min(n, i + 4) * 12)), i * 12);
      assert.deepEqual(bits(y), bits(x), `perChannel ${perChannel}`);
      // And by hand for one element: mean and variance of item 0..n-1 at feature 0 (per element).
      if (!perChannel) {
        const col = Array.from({ length: n }, (_, i) => features[i * 12]);
        const mean = col.reduce((a, b) => a + b, 0) / n;
        const variance = col.reduce((a, b) => a + b * b, 0) / n - mean * mean;
        assert.ok(Math.abs(y[0] - (features[0] - mean) / Math.sqrt(variance + 1e-5)) < 1e-5);
      }
      whole.dispose();
      streamed.dispose();
    }
  });
});

describe('classification through the feature store (wasm)', function () {
  let root: string;
  before(async () => {
    await initBackend('wasm');
    root = await mkdtemp(join(tmpdir(), 'ceb-featstore-cls-'));
    await writeSyntheticVoc({ out: join(root, 'voc'), images: 60, size: 112, seed: 7, classes: 3 });
    await trainPretext({
      config: pretextConfig({ method: 'random', heldoutImages: 2 }),
      model: { inputSize: 99, widthMultiplier: 0.125 },
      dataset: { format: 'voc', root: join(root, 'voc') },
      seed: 3,
      outDir: join(root, 'pretext'),
    });
  });
  after(() => rm(root, { recursive: true, force: true }));

  /**
   * mAP and APs recorded with the in-memory caches this store replaced
   * (commit 3764f81, the same fixture and configs): frozen reads its views from
   * the store, kNN keeps its centre features in memory, fine-tuning fits only the
   * scaler from the pass; all three must score exactly as before.
   */
  const BEFORE: Record<string, { mAP: number; AP: Record<string, number> }> = {
    frozen: { mAP: 0.8407529705752886, AP: { aeroplane: 0.8168654874537228, bicycle: 0.9712121212121214, bird: 0.7341813030600216 } },
    knn: { mAP: 0.7572425478851813, AP: { aeroplane: 0.5563599044633528, bicycle: 0.956112852664577, bird: 0.7592548865276137 } },
    finetune: { mAP: 0.8362225053099269, AP: { aeroplane: 0.8802550390785685, bicycle: 0.9457247298156392, bird: 0.6826877470355731 } },
  };

  for (const protocol of Object.keys(BEFORE)) {
    it(`${protocol}: the numbers of the in-memory path; no tensors and no store file left behind`, async () => {
      const config = downstreamConfig({ task: 'classification', protocols: [protocol as 'frozen'], steps: 12, batchSize: 4, headWidths: [16, 16], testCrops: 10, lr: 0.003 });
      const outDir = join(root, `out-${protocol}`);
      const tensors = tf.memory().numTensors;
      const out = await runTask({ config, protocol, dataset: { format: 'voc', root: join(root, 'voc') }, seed: 5, method: 'random', encoderDir: join(root, 'pretext', 'checkpoint'), generatorDir: join(root, 'pretext', 'generator'), outDir });
      assert.equal(tf.memory().numTensors, tensors);
      assert.deepEqual({ mAP: out.summary.mAP, AP: out.perClass!.AP }, BEFORE[protocol]);
      const left = existsSync(outDir) ? await readdir(outDir) : [];
      assert.equal(left.includes(FEATURE_STORE_FILE), false, `left in ${outDir}: ${left.join(', ')}`);
    });
  }
});
