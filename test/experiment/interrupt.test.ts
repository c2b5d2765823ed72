/**
 * Real `bench run` processes (the built CLI in dist/, as npm test builds it
 * first): killed with SIGKILL mid-training and rerun, run beside a lock
 * holder, stopped by a diverging loss.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { basename, join, relative, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'mocha';
import { writeSyntheticVoc } from '../../src/data/synthetic.js';
import { checkpointStep } from '../helpers/checkpoint.js';

const cli = resolve('dist/src/cli.js');

function bench(args: string[], cwd: string): { status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd, encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr };
}

/** Polls until `dir` holds an entry ending with `suffix`/`file`; returns its path. */
async function waitFor(dir: string, suffix: string, file: string, timeoutMs = 120_000): Promise<string> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const entry = existsSync(dir) ? (await readdir(dir)).find((d) => d.endsWith(suffix)) : undefined;
    if (entry && existsSync(join(dir, entry, file))) return join(dir, entry, file);
    if (Date.now() > until) throw new Error(`no ${suffix}/${file} appeared in ${dir}`);
    await sleep(10);
  }
}

async function onlyDir(parent: string, suffix = ''): Promise<string> {
  const dirs = (await readdir(parent)).filter((d) => d.endsWith(suffix) && !d.includes('.tmp-'));
  assert.equal(dirs.length, 1, `${parent}: ${dirs.join(', ')}`);
  return join(parent, dirs[0]);
}

const STEPS = 120;

/**
 * Starts `bench run file` in a child process, SIGKILLs it as soon as a job
 * under `jobsDir` has written a training checkpoint, and checks that the
 * checkpoint fell mid-training.
 */
async function killAtFirstCheckpoint(file: string, results: string, jobsDir: string, steps: number, cwd: string): Promise<{ pid: number; partial: string; killedAt: number }> {
  const child = spawn(process.execPath, [cli, 'run', file, '--backend', 'wasm', '--results', results], { cwd, stdio: 'ignore' });
  const exited = new Promise((done) => child.on('exit', done));
  const partial = await waitFor(jobsDir, '.partial', 'state.bin');
  child.kill('SIGKILL');
  await exited;
  const killedAt = await checkpointStep(partial);
  assert.ok(killedAt > 0 && killedAt < steps, `checkpoint at step ${killedAt}`);
  return { pid: child.pid!, partial, killedAt };
}

function experiment(name: string, root: string, pretext: object = {}): object {
  return {
    name,
    seeds: [3],
    datasets: { synth: { format: 'voc', root: join(root, 'voc') } },
    model: { inputSize: 67, widthMultiplier: 0.125 },
    pretext: [{ method: 'context-encoder', steps: STEPS, batchSize: 4, heldoutImages: 4, checkpointEvery: 10, logEvery: 10, ...pretext }],
    downstream: [{ task: 'classification', steps: 5, batchSize: 8, headWidths: [16, 16], maxTestImages: 8 }],
  };
}

/** metrics.json of every job, without the timings, keyed by job folder. */
async function numbers(resultsDir: string): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const stage of ['pretext', 'classification']) {
    const dir = await onlyDir(join(resultsDir, stage));
    const m = JSON.parse(await readFile(join(dir, 'metrics.json'), 'utf8'));
    delete m.summary.train_seconds;
    out[stage] = { id: m.id, summary: m.summary, perClass: m.perClass };
  }
  return out;
}

describe('bench run processes: kill -9 and resume, the lock, a diverging loss', function () {
  // Each test spawns whole `bench run`s and kills them: several times a training test, so more than the default.
  this.timeout(360_000);
  let root: string;
  let file: string;

  before(async () => {
    assert.ok(existsSync(cli), `${cli} is missing: build with tsc first (npm test does)`);
    root = await mkdtemp(join(tmpdir(), 'ceb-interrupt-'));
    await writeSyntheticVoc({ out: join(root, 'voc'), images: 24, size: 64, seed: 5, classes: 3 });
    file = join(root, 'exp.json');
    await writeFile(file, JSON.stringify(experiment('exp', root)));
  });
  after(() => rm(root, { recursive: true, force: true }));

  it('after SIGKILL mid-training, bench run takes over the dead lock, resumes from the last checkpoint and ends with the uninterrupted numbers', async () => {
    const straight = bench(['run', file, '--backend', 'wasm', '--results', join(root, 'straight')], root);
    assert.equal(straight.status, 0, straight.stderr);

    const results = join(root, 'killed');
    const pretextDir = join(results, 'exp', 'pretext');
    const { pid, killedAt } = await killAtFirstCheckpoint(file, results, pretextDir, STEPS, root);
    assert.equal(JSON.parse(await readFile(join(results, 'exp', 'run.lock'), 'utf8')).pid, pid);
    assert.ok((await readdir(pretextDir)).some((d) => d.includes('.tmp-')), 'the killed job left its temporary folder');
    assert.equal(existsSync(join(results, 'exp', 'results.csv')), false);

    const again = bench(['run', file, '--backend', 'wasm', '--results', results], root);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stderr, new RegExp(`run\\.lock: took over the lock of pid ${pid}, which is no longer running`));
    assert.match(again.stderr, /removed 1 temporary file\(s\) of an interrupted run/);
    assert.match(again.stderr, new RegExp(`resuming at step ${killedAt + 1} of ${STEPS} from .*state\\.bin`));
    assert.deepEqual(await numbers(join(results, 'exp')), await numbers(join(root, 'straight', 'exp')));
    const logOf = async (r: string) => (await readFile(join(await onlyDir(join(r, 'exp', 'pretext')), 'log.csv'), 'utf8')).split('\n').map((l) => l.split(',').slice(0, 5).join());
    assert.deepEqual(await logOf(results), await logOf(join(root, 'straight')));
    assert.deepEqual((await readdir(pretextDir)).filter((d) => d.endsWith('.partial') || d.includes('.tmp-')), []);
    assert.equal(existsSync(join(results, 'exp', 'run.lock')), false);

    // results.csv is derived from the job folders alone, so it can always be rebuilt.
    const csv = await readFile(join(results, 'exp', 'results.csv'), 'utf8');
    await rm(join(results, 'exp', 'results.csv'));
    const rebuilt = bench(['run', file, '--backend', 'wasm', '--results', results], root);
    assert.equal(rebuilt.status, 0, rebuilt.stderr);
    assert.match(rebuilt.stderr, /0 jobs ran, 2 reused/);
    assert.equal(await readFile(join(results, 'exp', 'results.csv'), 'utf8'), csv);
  });

  it('after SIGKILL mid fine-tuning, bench run resumes the downstream job and ends with the uninterrupted numbers; a run of another config lists the stray checkpoint folder with its size and keeps it', async () => {
    const STEPS_DS = 80;
    const downstream = (steps: number, lr: number) =>
      ({ ...experiment('ds', root, { method: 'random' }), downstream: [{ task: 'classification', protocols: ['finetune'], steps, lr, checkpointEvery: 5, batchSize: 4, headWidths: [8, 8], maxTestImages: 4 }] });
    const dsFile = join(root, 'ds.json');
    const otherFile = join(root, 'ds-other.json');
    await writeFile(dsFile, JSON.stringify(downstream(STEPS_DS, 0.001)));
    await writeFile(otherFile, JSON.stringify(downstream(2, 0.002)));
    const straight = bench(['run', dsFile, '--backend', 'wasm', '--results', join(root, 'ds-straight')], root);
    assert.equal(straight.status, 0, straight.stderr);

    const results = join(root, 'ds-killed');
    const taskDir = join(results, 'ds', 'classification');
    const { partial, killedAt } = await killAtFirstCheckpoint(dsFile, results, taskDir, STEPS_DS, root);

    // Another config of the experiment: its jobs have other hashes, so the checkpoint is no job's of its plan.
    const other = bench(['run', otherFile, '--backend', 'wasm', '--results', results], root);
    assert.equal(other.status, 0, other.stderr);
    const partialDir = join(partial, '..');
    const size = (await stat(partial)).size;
    const kib = `${(size / 1024).toFixed(1)} KiB`;
    const listed = other.stderr.split('\n').filter((l) => l.includes('.partial'));
    assert.deepEqual(listed, [
      `experiment ds: 1 training checkpoint folder(s) of jobs not in this experiment's plan (left by an older config), ${kib}: ${relative(root, partialDir)} (${kib}); delete them unless you will rerun that config`,
    ]);
    assert.equal(await checkpointStep(partial), killedAt, 'listed, not deleted or changed');

    const again = bench(['run', dsFile, '--backend', 'wasm', '--results', results], root);
    assert.equal(again.status, 0, again.stderr);
    assert.doesNotMatch(again.stderr, /training checkpoint folder/);
    assert.match(again.stderr, new RegExp(`classification/finetune on random: resuming at step ${killedAt + 1} of ${STEPS_DS} from .*state\\.bin`));
    const numbersOf = async (dir: string) => {
      const m = JSON.parse(await readFile(join(dir, 'metrics.json'), 'utf8'));
      return { id: m.id, summary: m.summary, perClass: m.perClass };
    };
    const jobs = (await readdir(taskDir)).filter((d) => !d.includes('.tmp-'));
    assert.deepEqual(jobs.filter((d) => d.endsWith('.partial')), [], 'the finished job removed its checkpoint');
    const resumed = join(taskDir, basename(partialDir, '.partial'));
    assert.deepEqual(await numbersOf(resumed), await numbersOf(await onlyDir(join(root, 'ds-straight', 'ds', 'classification'))));
  });

  it('a second bench run on the same experiment exits 2 naming the lock file and the pid holding it, and writes nothing', async () => {
    const results = join(root, 'locked');
    const lock = join(results, 'exp', 'run.lock');
    const holder = JSON.stringify({ pid: process.pid, hostname: hostname(), started: new Date().toISOString() });
    await mkdir(join(results, 'exp'), { recursive: true });
    await writeFile(lock, holder);
    const r = bench(['run', file, '--backend', 'wasm', '--results', results], root);
    assert.equal(r.status, 2);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`^error: ${lock.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: another \`bench run\` of this experiment is running \\(pid ${process.pid} on ${hostname()}`));
    assert.deepEqual(await readdir(join(results, 'exp')), ['run.lock']);
    assert.equal(await readFile(lock, 'utf8'), holder);
  });

  it('a NaN loss stops the job with its step and keeps the last good checkpoint; a damaged checkpoint is an error, never retrained over', async () => {
    const nanFile = join(root, 'nan.json');
    await writeFile(nanFile, JSON.stringify(experiment('nan', root, { lr: 100, checkpointEvery: 2 })));
    const results = join(root, 'nan');
    const r = bench(['run', nanFile, '--backend', 'wasm', '--results', results], root);
    assert.equal(r.status, 2, r.stderr);
    const m = /error: pretext context-encoder: (loss became (NaN|-?Infinity)|weight \S+ became NaN or Infinity) at step (\d+); the last good checkpoint \(step (\d+)\) stays in (\S+state\.bin); lower lr \(100\) and rerun\n$/.exec(r.stderr);
    assert.ok(m, r.stderr);
    const [failedAt, keptAt, partial] = [Number(m[3]), Number(m[4]), m[5]];
    assert.ok(keptAt > 0 && keptAt < failedAt && keptAt % 2 === 0, `failed at ${failedAt}, kept ${keptAt}`);
    assert.equal(await checkpointStep(partial), keptAt);
    // No job folder: only the checkpoint remains.
    assert.deepEqual((await readdir(join(results, 'nan', 'pretext'))).filter((d) => !d.endsWith('.partial')), []);

    const size = (await stat(partial)).size;
    await truncate(partial, size - 1);
    const damaged = bench(['run', nanFile, '--backend', 'wasm', '--results', results], root);
    assert.equal(damaged.status, 2);
    assert.match(damaged.stderr, /state\.bin: training checkpoint is damaged \(truncated: \d+ bytes, expected \d+\); delete it to restart this job from step 0\n$/);
    assert.equal((await stat(partial)).size, size - 1);
  });
});
