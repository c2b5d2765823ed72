/**
 * `bench run --jobs N` and `bench job`, as real processes of the built CLI:
 * the worker pool gives a one-process run's numbers with two jobs running at
 * once; one job stops on SIGUSR2 at a checkpoint and resumes to the
 * uninterrupted numbers; bad keys, invisible results and an unfinished
 * pretext job are one-line errors.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'mocha';
import { writeSyntheticVoc } from '../../src/data/synthetic.js';
import { checkpointStep } from '../helpers/checkpoint.js';
import { bench, benchAsync, cli, resultNumbers, tinyExperiment, waitForCheckpoint } from '../helpers/sweep.js';

describe('bench run --jobs N and bench job', function () {
  // Each test runs several `bench` processes (and waits on SLURM's scheduler).
  this.timeout(360_000);
  let root: string;
  let file: string;
  let straight: string;

  before(async () => {
    assert.ok(existsSync(cli), `${cli} is missing: build with tsc first (npm test does)`);
    root = await mkdtemp(join(tmpdir(), 'ceb-pool-'));
    await writeSyntheticVoc({ out: join(root, 'voc'), images: 24, size: 64, seed: 5, classes: 3 });
    file = join(root, 'exp.json');
    await writeFile(file, JSON.stringify(tinyExperiment('exp', root, 200)));
    straight = join(root, 'straight');
    const r = bench(['run', file, '--backend', 'wasm', '--results', straight], root);
    assert.equal(r.status, 0, r.stderr);
  });
  after(() => rm(root, { recursive: true, force: true }));

  it('--jobs 2 runs two jobs at once in worker processes and writes the results.csv of a one-process run (timings aside)', async () => {
    const results = join(root, 'pool');
    const r = bench(['run', file, '--backend', 'wasm', '--results', results, '--jobs', '2'], root);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /^6 job\(s\) to run on 2 worker process\(es\), 0 already done$/m);
    // The random pretext job is ready beside the context encoder: both run at once.
    assert.match(r.stderr, /^running 2 of 2: \[1\] pretext\/context-encoder-s4-\w+, \[4\] pretext\/random-s4-\w+$/m);
    // Worker output comes through, prefixed with the job's number.
    assert.match(r.stderr, /^\[1\/6\] pretext context-encoder \(seed 4\): train_seconds/m);
    assert.match(r.stderr, /experiment exp: 6 jobs ran, 0 reused/);
    const expected = await resultNumbers(join(straight, 'exp', 'results.csv'));
    assert.equal(expected.length, 17);
    assert.deepEqual(await resultNumbers(join(results, 'exp', 'results.csv')), expected);

    const again = bench(['run', file, '--backend', 'wasm', '--results', results, '--jobs', '2'], root);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stderr, /0 job\(s\) to run on 2 worker process\(es\), 6 already done/);
    assert.match(again.stderr, /0 jobs ran, 6 reused/);
  });

  it('bench job stops at a checkpoint on SIGUSR2 (exit 3), and run again resumes there to the uninterrupted numbers', async () => {
    // A copy of the finished run without the context encoder's pretext job: plan.json is there, and its downstream jobs are done.
    const results = join(root, 'usr2');
    await cp(straight, results, { recursive: true });
    const pretext = (await readdir(join(results, 'exp', 'pretext'))).find((d) => d.startsWith('context-encoder'))!;
    await rm(join(results, 'exp', 'pretext', pretext), { recursive: true });
    await rm(join(results, 'exp', 'results.csv'));

    const job = benchAsync(['job', file, `pretext/${pretext}`, '--backend', 'wasm', '--results', results], root);
    const state = await waitForCheckpoint(join(results, 'exp'));
    process.kill(job.pid, 'SIGUSR2');
    const stopped = await job.done;
    assert.equal(stopped.status, 3, stopped.stderr);
    const m = /stopped by SIGUSR2: checkpointed at step (\d+) in (\S+state\.bin); rerun the job to resume/.exec(stopped.stderr);
    assert.ok(m, stopped.stderr);
    const step = Number(m[1]);
    assert.equal(m[2], state);
    assert.equal(await checkpointStep(state), step);
    assert.ok(step > 20 && step < 200, `stopped at step ${step}, after the periodic checkpoint at 20`);
    assert.equal(existsSync(join(results, 'exp', 'pretext', pretext)), false, 'no job folder before the job is done');
    assert.deepEqual((await readdir(join(results, 'exp', 'pretext'))).filter((d) => d.includes('.tmp-')), [], 'the stopped job removed its temporary folder');

    const resumed = bench(['job', file, `pretext/${pretext}`, '--backend', 'wasm', '--results', results], root);
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.match(resumed.stderr, new RegExp(`resuming at step ${step + 1} of 200`));
    assert.match(resumed.stdout, new RegExp(`^pretext/${pretext} ran\\n$`));
    // The downstream jobs were already done: this last job completes the sweep, so results.csv is rebuilt.
    assert.match(resumed.stderr, /every job is done; \S+results\.csv written/);
    assert.deepEqual(await resultNumbers(join(results, 'exp', 'results.csv')), await resultNumbers(join(straight, 'exp', 'results.csv')));
  });

  it('bench job refuses, in one line with exit 2, an unknown key, a results folder it cannot see, and a downstream job whose pretext job has no results', async () => {
    const unknown = bench(['job', file, 'pretext/nope', '--backend', 'wasm', '--results', straight], root);
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /^error: pretext\/nope: no job of experiment exp on backend wasm has this key; the job ids are in \S+plan\.json\n$/);

    const invisible = bench(['job', file, 'pretext/nope', '--backend', 'wasm', '--results', join(root, 'elsewhere')], root);
    assert.equal(invisible.status, 2);
    assert.match(invisible.stderr, /^error: \S+elsewhere\/exp\/plan\.json is not visible on \S+: .*the results folder must be on a filesystem every node sees.*\n$/);

    const plan = JSON.parse(await readFile(join(straight, 'exp', 'plan.json'), 'utf8')) as { jobs: { id: string; stage: string; dependsOn?: string }[] };
    const downstream = plan.jobs.find((j) => j.stage === 'downstream')!;
    const early = join(root, 'early');
    await cp(straight, early, { recursive: true });
    await rm(join(early, 'exp', downstream.dependsOn!), { recursive: true });
    const r = bench(['job', file, downstream.id, '--backend', 'wasm', '--results', early], root);
    assert.equal(r.status, 2);
    assert.equal(r.stderr, `error: ${downstream.id}: its pretext job ${downstream.dependsOn} has no results yet; run that job first\n`);
  });

  it('--jobs takes a whole number or auto; the local executor refuses more than one; another executor\'s option is refused', () => {
    const zero = bench(['run', file, '--jobs', '0', '--results', join(root, 'x')], root);
    assert.equal(zero.status, 2);
    assert.equal(zero.stderr, 'error: --jobs 0: use a whole number of at least 1, or auto\n');
    const local = bench(['run', file, '--jobs', '2', '--executor', 'local', '--results', join(root, 'x')], root);
    assert.equal(local.status, 2);
    assert.equal(local.stderr, 'error: --jobs 2: the local executor runs one job at a time; drop --jobs or use --executor pool\n');
    const foreign = bench(['run', file, '--jobs', '2', '--partition', 'gpu', '--results', join(root, 'x')], root);
    assert.equal(foreign.status, 2);
    assert.equal(foreign.stderr, 'error: --partition: an option of the slurm executor, not of pool; add --executor slurm or drop it\n');
    assert.equal(existsSync(join(root, 'x')), false, 'nothing written');
  });
});
