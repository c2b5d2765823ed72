import assert from 'node:assert/strict';
import { after, before, describe, it } from 'mocha';
import { mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/engine/backend.js';
import { loadModel, saveModel } from '../../src/engine/checkpoint.js';
import { UserError } from '../../src/errors.js';
import { alexnetWidths } from '../../src/models/alexnet.js';
import { buildContextEncoder } from '../../src/models/context-encoder.js';
import { buildDiscriminator, buildInpaintingGenerator } from '../../src/models/dcgan.js';
import { patternImage, sameBits, weightValues } from './helpers.js';

async function assertRoundTrip(model: tf.LayersModel, dir: string, input: tf.Tensor): Promise<tf.LayersModel> {
  await saveModel(model, dir);
  const loaded = await loadModel(dir);
  assert.deepEqual(
    loaded.layers.map((l) => [l.name, l.getClassName()]),
    model.layers.map((l) => [l.name, l.getClassName()]),
  );
  const before = await weightValues(model);
  const after = await weightValues(loaded);
  assert.equal(after.length, before.length);
  before.forEach((w, i) => assert.ok(sameBits(w, after[i]), `weight ${i} (${model.weights[i].originalName}) changed`));
  const y0 = (await (model.predict(input) as tf.Tensor).data()) as Float32Array;
  const y1 = (await (loaded.predict(input) as tf.Tensor).data()) as Float32Array;
  assert.ok(sameBits(y0, y1), 'predictions differ after reload');
  return loaded;
}

describe('checkpoint saveModel / loadModel', () => {
  let root: string;
  before(async () => {
    await initBackend('wasm');
    root = await mkdtemp(join(tmpdir(), 'ckpt-test-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('encoder alone: model.json + weights.bin, manifest paths [weights.bin], bit-identical reload', async () => {
    const { encoder } = buildContextEncoder({ encoder: { inputSize: 99, widths: alexnetWidths(0.125), seed: 3 } });
    const dir = join(root, 'encoder');
    const loaded = await assertRoundTrip(encoder, dir, patternImage(2, 99));
    assert.deepEqual((await readdir(dir)).sort(), ['model.json', 'weights.bin']);
    const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8'));
    assert.equal(json.weightsManifest.length, 1);
    assert.deepEqual(json.weightsManifest[0].paths, ['weights.bin']);
    assert.equal(json.format, 'layers-model');
    const params = encoder.countParams();
    assert.equal((await readFile(join(dir, 'weights.bin'))).length, 4 * params);
    assert.deepEqual(loaded.outputs[0].shape, [null, 2, 2, 32]);
  });

  it('context-encoder generator with ChannelwiseDense and ResizeBilinear', async () => {
    const { generator } = buildContextEncoder({ encoder: { inputSize: 67, widths: alexnetWidths(0.125), seed: 8 }, dropout: 0.5 });
    const loaded = await assertRoundTrip(generator, join(root, 'generator'), patternImage(1, 67));
    assert.equal(loaded.getLayer('cwfc').getClassName(), 'ChannelwiseDense');
    assert.deepEqual(loaded.outputs[0].shape, [null, 67, 67, 3]);
  });

  it('DCGAN generator, BatchNorm moving statistics included, and the discriminator', async () => {
    const g = buildInpaintingGenerator({ size: 32, nef: 4, ngf: 4, bottleneck: 8, seed: 6 });
    // One training-mode pass moves the BatchNorm statistics away from their 0/1 start.
    tf.dispose(g.apply(patternImage(4, 32, 1), { training: true }) as tf.Tensor);
    const movingMean = await g.getLayer('enc_bn2').getWeights()[2].data();
    assert.ok(movingMean.some((v) => v !== 0));
    await assertRoundTrip(g, join(root, 'dcgan-g'), patternImage(2, 32));
    await assertRoundTrip(buildDiscriminator({ size: 16, ndf: 4, seed: 6 }), join(root, 'dcgan-d'), patternImage(2, 16));
  });

  it('overwrites an existing checkpoint whole and leaves no temp folders', async () => {
    const dir = join(root, 'overwrite');
    const small = (seed: number) => buildInpaintingGenerator({ size: 16, nef: 2, ngf: 2, bottleneck: 4, seed });
    await saveModel(small(1), dir);
    await writeFile(join(dir, 'stale.txt'), 'from an older run');
    const second = small(2);
    await saveModel(second, dir);
    assert.deepEqual((await readdir(dir)).sort(), ['model.json', 'weights.bin']);
    const reloaded = await weightValues(await loadModel(dir));
    (await weightValues(second)).forEach((w, i) => assert.ok(sameBits(w, reloaded[i])));
    assert.deepEqual((await readdir(root)).filter((name) => name.includes('.tmp-')), []);
  });

  it('a missing checkpoint is a UserError naming the folder', async () => {
    const dir = join(root, 'nope');
    await assert.rejects(loadModel(dir), (err: unknown) => err instanceof UserError && err.message.startsWith(dir) && /model\.json/.test(err.message));
  });

  it('a truncated weights.bin or a broken model.json is a UserError', async () => {
    const dir = join(root, 'damaged');
    await saveModel(buildDiscriminator({ size: 8, ndf: 2, seed: 1 }), dir);
    await truncate(join(dir, 'weights.bin'), 10);
    await assert.rejects(loadModel(dir), (err: unknown) => err instanceof UserError && /damaged/.test(err.message));
    await rm(join(dir, 'weights.bin'));
    await assert.rejects(loadModel(dir), (err: unknown) => err instanceof UserError && err.message.startsWith(dir));
    await writeFile(join(dir, 'model.json'), '{"modelTopology": ');
    await assert.rejects(loadModel(dir), (err: unknown) => err instanceof UserError && /not valid JSON/.test(err.message));
  });
});
