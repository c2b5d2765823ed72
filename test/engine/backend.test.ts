import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import { before, describe, it } from 'mocha';
import { initBackend } from '../../src/engine/backend.js';
import { UserError } from '../../src/errors.js';

const require = createRequire(import.meta.url);

function nativeInstalled(): boolean {
  return ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'].some((pkg) => {
    try {
      require.resolve(pkg);
      return true;
    } catch {
      return false;
    }
  });
}

describe('backend selection', function () {
  // These describe a machine without native TensorFlow, as this project's CI is.
  before(function () {
    if (nativeInstalled()) this.skip();
  });

  it('auto falls back to wasm, with the reason, where native TensorFlow is not installed', async () => {
    const info = await initBackend('auto');
    assert.equal(info.name, 'wasm');
    assert.match(info.reason, /tfjs-node/);
    assert.equal(tf.getBackend(), 'wasm');
    assert.ok(tf.getKernel('Conv2DBackpropFilter', 'wasm'), 'the wasm gradient kernels are registered');
  });

  it('--backend tensorflow without the native package is a UserError saying what to install', async () => {
    await assert.rejects(initBackend('tensorflow'), (err: Error) => err instanceof UserError && /install @tensorflow\/tfjs-node/.test(err.message));
  });
});
