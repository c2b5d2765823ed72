/**
 * LayersModel <-> disk, in the layout tfjs's own file handlers use
 * (dir/model.json with a weightsManifest pointing at dir/weights.bin), so a
 * checkpoint also loads with tf.loadLayersModel('file://...') under tfjs-node.
 */
import * as tf from '@tensorflow/tfjs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import { writeFileAtomic, writeDirAtomic } from '../fs/atomic.js';

const MODEL_FILE = 'model.json';
const WEIGHTS_FILE = 'weights.bin';

function toBytes(data: tf.io.WeightData | undefined): Uint8Array {
  if (data === undefined) return new Uint8Array(0);
  const buffer = Array.isArray(data) ? tf.io.concatenateArrayBuffers(data) : data;
  return new Uint8Array(buffer);
}

/** Writes dir/model.json and dir/weights.bin; the folder appears whole or not at all. */
export async function saveModel(model: tf.LayersModel, dir: string): Promise<void> {
  await writeDirAtomic(dir, async (tmpDir) => {
    await model.save(
      tf.io.withSaveHandler(async (artifacts) => {
        const modelJson: tf.io.ModelJSON = {
          modelTopology: artifacts.modelTopology ?? {},
          format: artifacts.format,
          generatedBy: artifacts.generatedBy,
          convertedBy: artifacts.convertedBy,
          weightsManifest: [{ paths: [WEIGHTS_FILE], weights: artifacts.weightSpecs ?? [] }],
        };
        if (artifacts.trainingConfig) modelJson.trainingConfig = artifacts.trainingConfig;
        if (artifacts.userDefinedMetadata) modelJson.userDefinedMetadata = artifacts.userDefinedMetadata;
        await writeFileAtomic(join(tmpDir, WEIGHTS_FILE), toBytes(artifacts.weightData));
        await writeFileAtomic(join(tmpDir, MODEL_FILE), JSON.stringify(modelJson));
        return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
      }),
    );
  });
}

const BYTES_PER_ELEMENT: Record<string, number> = { float32: 4, int32: 4, bool: 1 };

function expectedBytes(specs: tf.io.WeightsManifestEntry[]): number {
  return specs.reduce((sum, spec) => {
    const perElement = spec.quantization ? BYTES_PER_ELEMENT[spec.quantization.dtype] ?? 2 : BYTES_PER_ELEMENT[spec.dtype] ?? 4;
    return sum + perElement * spec.shape.reduce((a, b) => a * b, 1);
  }, 0);
}

async function readOrExplain(path: string, dir: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new UserError(
        `${dir}: no model checkpoint here (${path} is missing); point to a folder written by saveModel (model.json + weights.bin), or run the pretext stage that writes it`,
      );
    }
    throw err;
  }
}

/** Loads a model saved by saveModel; weights come back bit-identical. */
export async function loadModel(dir: string): Promise<tf.LayersModel> {
  const jsonPath = join(dir, MODEL_FILE);
  const text = (await readOrExplain(jsonPath, dir)).toString('utf8');
  let modelJson: tf.io.ModelJSON;
  try {
    modelJson = JSON.parse(text) as tf.io.ModelJSON;
  } catch (err) {
    throw new UserError(`${jsonPath}: not valid JSON (${(err as Error).message}); delete the checkpoint folder and rerun the job that writes it`);
  }
  if (modelJson.modelTopology == null || !Array.isArray(modelJson.weightsManifest)) {
    throw new UserError(`${jsonPath}: not a tfjs layers model (no modelTopology or weightsManifest); delete the checkpoint folder and rerun the job that writes it`);
  }
  const handler: tf.io.IOHandler = {
    load: () =>
      tf.io.getModelArtifactsForJSON(modelJson, async (manifest) => {
        const specs = manifest.flatMap((group) => group.weights);
        const buffers = await Promise.all(
          manifest.flatMap((group) => group.paths).map(async (p) => {
            const bytes = await readOrExplain(join(dir, p), dir);
            return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
          }),
        );
        const weightData = tf.io.concatenateArrayBuffers(buffers);
        const expected = expectedBytes(specs);
        if (weightData.byteLength !== expected) {
          throw new UserError(
            `${dir}: weight files hold ${weightData.byteLength} bytes but model.json describes ${expected}; the checkpoint is damaged: delete the job folder that holds it and rerun (bench run then trains it again)`,
          );
        }
        return [specs, weightData];
      }),
  };
  return tf.loadLayersModel(handler);
}
