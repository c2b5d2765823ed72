import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, it } from 'mocha';
import { initBackend } from '../../src/engine/backend.js';
import { MAX_WASM_THREADS, parseThreads, THREADS_ENV, wasmThreadCount } from '../../src/engine/wasm-threads.js';
import { workerThreads } from '../../src/experiment/executors/pool.js';
import { UserError } from '../../src/errors.js';

const repo = resolve('.');
const tsx = pathToFileURL(join(repo, 'node_modules/tsx/dist/loader.mjs')).href;

/** Trains the fixture's net in a fresh process with `threads` threads; it must exit by itself. */
function trainIn(threads: number): { threads: number; weights: string } {
  const env: NodeJS.ProcessEnv = { ...process.env, [THREADS_ENV]: String(threads) };
  const r = spawnSync(process.execPath, ['--import', tsx, join(repo, 'test/engine/fixtures/threads-train.ts')], { env, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.signal, null, `the process did not exit by itself (killed by ${r.signal}); stderr: ${r.stderr}`);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as { threads: number; weights: string };
}

describe('wasm backend threads', function () {
  it('runs the threaded build in Node with the threads asked for, with results identical to one thread, and exits by itself', function () {
    const one = trainIn(1);
    const two = trainIn(2);
    const three = trainIn(3);
    assert.deepEqual([one.threads, two.threads, three.threads], [1, 2, 3]);
    // Each output value is summed by one thread in the same order: the thread count changes nothing.
    assert.equal(two.weights, one.weights);
    assert.equal(three.weights, one.weights);
  });

  it('this test process runs its wasm kernels (compared with cpu in kernels.test.ts) with one thread per core', async function () {
    const info = await initBackend('wasm');
    assert.equal(info.threads, Math.min(availableParallelism(), MAX_WASM_THREADS));
  });

  it('takes BENCH_THREADS, else the CPUs SLURM gave the task, else the cores; pool workers share the cores out', () => {
    assert.equal(wasmThreadCount({ [THREADS_ENV]: '3' }), 3);
    assert.equal(wasmThreadCount({ SLURM_CPUS_PER_TASK: '4' }), 4);
    assert.equal(wasmThreadCount({ SLURM_CPUS_PER_TASK: '64' }), MAX_WASM_THREADS);
    assert.equal(wasmThreadCount({}), Math.min(availableParallelism(), MAX_WASM_THREADS));
    assert.equal(workerThreads(2, { SLURM_CPUS_PER_TASK: '4' }), 2);
    assert.equal(workerThreads(3, { SLURM_CPUS_PER_TASK: '4' }), 1);
    assert.equal(workerThreads(8, { SLURM_CPUS_PER_TASK: '2' }), 1, 'never below one');
    assert.equal(workerThreads(2, { [THREADS_ENV]: '3' }), 3, '--threads is taken as given');
  });

  it('refuses a thread count that is not a whole number from 1 to 8, naming where it came from', () => {
    for (const bad of ['0', '9', '1.5', 'two', '']) {
      assert.throws(() => parseThreads(bad, '--threads'), (err: Error) => err instanceof UserError && err.message.startsWith(`--threads ${bad}: use a whole number from 1 to 8`));
    }
    assert.throws(() => wasmThreadCount({ [THREADS_ENV]: '0' }), /BENCH_THREADS 0: use a whole number/);
    assert.equal(parseThreads('8', '--threads'), 8);
  });

  it('bench --threads 9 exits 2 with that one line, before doing anything', () => {
    const r = spawnSync(process.execPath, ['--import', tsx, join(repo, 'src/cli.ts'), 'run', join(repo, 'experiments/smoke.json'), '--dry-run', '--threads', '9'], { encoding: 'utf8' });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /--threads 9: use a whole number from 1 to 8/);
  });
});
