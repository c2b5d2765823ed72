import assert from 'node:assert/strict';
import { describe, it } from 'mocha';
import { runPerf } from '../../src/perf/run.js';
import { UserError } from '../../src/errors.js';

describe('bench perf', function () {
  this.timeout(300_000);

  it('times ce-dcgan on wasm: the JSON fields torch_reference.py prints, torch-equal parameter counts, no tensor growth', async () => {
    const r = await runPerf({ net: 'ce-dcgan', size: 64, batch: 2, bottleneck: 16, steps: 2, backend: 'wasm', kernels: 'fast', profile: false });
    for (const k of ['net', 'size', 'batch', 'backend', 'train_img_s', 'fwd_img_s', 'peak_rss_mb'] as const) assert.ok(r[k] !== undefined, k);
    assert.equal(r.backend, 'wasm');
    assert.ok(r.train_img_s > 0 && r.fwd_img_s > 0);
    // torch_reference.py's discriminator at 32 px: 64, 128, 256 channels, then 1.
    assert.equal(r.params_D, 3 * 64 * 16 + 64 * 128 * 16 + 128 * 256 * 16 + 256 * 16 + 2 * (128 + 256));
    assert.equal(r.tensors_end, r.tensors_warm);
    assert.equal(r.rss_curve_mb.length, 2);
  });

  it('times ce-alexnet (L2 only, no discriminator) and rejects sizes the nets cannot take', async () => {
    const r = await runPerf({ net: 'ce-alexnet', size: 67, batch: 1, bottleneck: 0, steps: 1, backend: 'wasm', kernels: 'fast', profile: false });
    assert.equal(r.params_D, undefined);
    assert.equal(r.tensors_end, r.tensors_warm);
    await assert.rejects(runPerf({ net: 'ce-dcgan', size: 48, batch: 1, bottleneck: 8, steps: 1, backend: 'wasm', kernels: 'fast', profile: false }), UserError);
    await assert.rejects(runPerf({ net: 'ce-alexnet', size: 50, batch: 1, bottleneck: 8, steps: 1, backend: 'wasm', kernels: 'fast', profile: false }), UserError);
  });

  it('times ce-alexnet-small at 32 px and rejects sizes outside the alexnet-small encoder\'s 32-96 px', async () => {
    const r = await runPerf({ net: 'ce-alexnet-small', batch: 2, bottleneck: 0, steps: 1, backend: 'wasm', kernels: 'fast', profile: false });
    assert.equal(r.size, 32);
    assert.deepEqual(r.out_shape, [2, 32, 32, 3]);
    assert.equal(r.params_D, undefined);
    assert.equal(r.tensors_end, r.tensors_warm);
    for (const size of [31, 97]) {
      await assert.rejects(runPerf({ net: 'ce-alexnet-small', size, batch: 1, bottleneck: 0, steps: 1, backend: 'wasm', kernels: 'fast', profile: false }), (err: Error) => err instanceof UserError && err.message.startsWith(`--size ${size}:`));
    }
  });
});
