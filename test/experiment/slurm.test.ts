/**
 * `bench run --executor slurm` on a real SLURM (scripts/slurm-local.sh start
 * brings up a one-node cluster; .ci/run does). Skipped, saying why, when no
 * SLURM node answers, unless BENCH_SLURM=required (set by .ci/run once its
 * cluster is up), where that is a failure.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'mocha';
import { writeSyntheticVoc } from '../../src/data/synthetic.js';
import { bench, cli, resultNumbers, tinyExperiment, waitForCheckpoint } from '../helpers/sweep.js';

const STEPS = 200;

/** Why SLURM cannot run jobs here, or null when a node is up. */
function slurmUnavailable(): string | null {
  const r = spawnSync('sinfo', ['--noheader', '--format=%T'], { encoding: 'utf8' });
  if (r.error) return `sinfo: ${r.error.message} (start a one-node cluster with scripts/slurm-local.sh start, as root)`;
  if (r.status !== 0) return `sinfo failed: ${r.stderr.trim()} (scripts/slurm-local.sh start)`;
  if (!/^(idle|mixed|allocated)/m.test(r.stdout)) return `no SLURM node is up (sinfo: ${r.stdout.trim() || 'no nodes'})`;
  return null;
}

function slurm(command: string, args: string[]): string {
  const r = spawnSync(command, args, { encoding: 'utf8' });
  assert.equal(r.status, 0, `${command} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

interface Submission {
  arrays: { name: string; slurmJobId: string; indices: number[]; jobs: string[]; script: string; log: string }[];
}

async function submission(resultsDir: string, n: number): Promise<Submission> {
  return JSON.parse(await readFile(join(resultsDir, 'slurm', String(n), 'submission.json'), 'utf8')) as Submission;
}

async function waitForLog(path: string, pattern: RegExp, timeoutMs = 120_000): Promise<string> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const text = existsSync(path) ? await readFile(path, 'utf8') : '';
    if (pattern.test(text)) return text;
    if (Date.now() > until) throw new Error(`${path}: no line matching ${pattern} in:\n${text}`);
    await sleep(200);
  }
}

describe('bench run --executor slurm on a one-node SLURM', function () {
  // Each test runs several `bench` processes (and waits on SLURM's scheduler).
  this.timeout(360_000);
  let root: string;
  let file: string;
  let expected: Record<string, string>[];

  before(async function () {
    const why = slurmUnavailable();
    if (why) {
      if (process.env.BENCH_SLURM === 'required') throw new Error(`BENCH_SLURM=required but ${why}`);
      console.log(`    SLURM tests skipped: ${why}`);
      this.skip();
    }
    assert.ok(existsSync(cli), `${cli} is missing: build with tsc first (npm test does)`);
    root = await mkdtemp(join(tmpdir(), 'ceb-slurm-'));
    await writeSyntheticVoc({ out: join(root, 'voc'), images: 24, size: 64, seed: 5, classes: 3 });
    file = join(root, 'exp.json');
    await writeFile(file, JSON.stringify(tinyExperiment('exp', root, STEPS)));
    const straight = bench(['run', file, '--backend', 'wasm', '--results', join(root, 'straight')], root);
    assert.equal(straight.status, 0, straight.stderr);
    expected = await resultNumbers(join(root, 'straight', 'exp', 'results.csv'));
  });
  after(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('submits one array per stage chained by aftercorr, with the sbatch flags asked for; bench status follows it to the local run\'s results.csv', async () => {
    const results = join(root, 'sweep');
    const r = bench(['run', file, '--backend', 'wasm', '--results', results, '--executor', 'slurm', '--partition', 'debug', '--time', '00:10:00', '--mem', '500M', '--max-parallel', '2'], root);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.deepEqual(
      lines.map((l) => l.replace(/SLURM job \d+/, 'SLURM job N')),
      ['pretext', 'classification-frozen', 'inpainting'].map((s) => `submitted ${s}: SLURM job N, array 0,1; logs sweep/exp/slurm/1/logs/${s}-%a.out`),
    );
    const sub = await submission(join(results, 'exp'), 1);
    assert.deepEqual(sub.arrays.map((a) => a.name), ['pretext', 'classification-frozen', 'inpainting']);
    const script = await readFile(sub.arrays[1].script, 'utf8');
    for (const directive of ['--array=0,1%2', '--partition=debug', '--time=00:10:00', '--mem=500M', '--cpus-per-task=1', '--signal=B:USR2@120', '--requeue', '--open-mode=append']) {
      assert.ok(script.includes(`#SBATCH ${directive}\n`), `${directive} in\n${script}`);
    }
    const dependency = slurm('scontrol', ['show', 'job', sub.arrays[1].slurmJobId]);
    assert.match(dependency, new RegExp(`Dependency=(aftercorr:${sub.arrays[0].slurmJobId}_\\*|\\(null\\))`));
    assert.equal(existsSync(join(results, 'exp', 'results.csv')), false, 'results.csv waits for the jobs');

    const status = bench(['status', file, '--results', results, '--watch'], root);
    assert.equal(status.status, 0, status.stderr);
    const table = status.stdout.trim().split('\n');
    assert.equal(table.at(-1), 'exp: 6 done, 0 running, 0 pending, 0 failed, 0 not submitted');
    for (const row of table.slice(1, -1)) assert.match(row, /^done +\d+_[01] +\S+ +sweep\/exp\/slurm\/1\/logs\/\S+-[01]\.out$/);
    assert.deepEqual(await resultNumbers(join(results, 'exp', 'results.csv')), expected);
    // Nothing left to do: a rerun submits nothing and only rebuilds results.csv.
    const again = bench(['run', file, '--backend', 'wasm', '--results', results, '--executor', 'slurm'], root);
    assert.equal(again.status, 0, again.stderr);
    assert.equal(again.stdout, '');
    assert.match(again.stderr, /0 jobs ran, 6 reused/);
  });

  it('a task scancelled mid-training fails with its dependants; a rerun is refused while tasks are queued, then resubmits only the jobs without results and ends with the uninterrupted numbers', async () => {
    const results = join(root, 'cancelled');
    const r = bench(['run', file, '--backend', 'wasm', '--results', results, '--executor', 'slurm'], root);
    assert.equal(r.status, 0, r.stderr);
    const first = await submission(join(results, 'exp'), 1);
    const pretextArray = first.arrays[0];
    const ceIndex = pretextArray.jobs.findIndex((id) => id.startsWith('pretext/context-encoder'));
    // Right after the submission, while its tasks are certainly queued or running.
    const busy = bench(['run', file, '--backend', 'wasm', '--results', results, '--executor', 'slurm'], root);
    assert.equal(busy.status, 2);
    assert.match(busy.stderr, /^error: \S+cancelled\/exp: \d+ SLURM task\(s\) of an earlier submission are still queued or running \(\d+_\d.*\); wait for them/m);

    // Cancelled as soon as its first checkpoint is written: a bench process
    // started in between (as the check above was, once) can take longer than
    // the tiny job's remaining steps, and the cancel then finds it finished.
    await waitForCheckpoint(join(results, 'exp'));
    slurm('scancel', [`${pretextArray.slurmJobId}_${ceIndex}`]);
    const status = bench(['status', file, '--results', results, '--watch'], root);
    assert.equal(status.status, 1, 'failed jobs end the watch with exit 1');
    const failed = status.stdout.split('\n').filter((l) => l.startsWith('failed'));
    assert.equal(failed.length, 3, status.stdout);
    assert.match(failed.join('\n'), new RegExp(`^failed \\(CANCELLED\\) +${pretextArray.slurmJobId}_${ceIndex} +pretext/context-encoder`, 'm'));
    assert.match(status.stdout, /exp: 3 done, 0 running, 0 pending, 3 failed, 0 not submitted/);

    const rerun = bench(['run', file, '--backend', 'wasm', '--results', results, '--executor', 'slurm'], root);
    assert.equal(rerun.status, 0, rerun.stderr);
    assert.match(rerun.stderr, /3 job\(s\) submitted to SLURM \(\S+slurm\/2\), 3 already done/);
    const second = await submission(join(results, 'exp'), 2);
    assert.deepEqual(second.arrays.map((a) => [a.name, a.indices]), ['pretext', 'classification-frozen', 'inpainting'].map((n) => [n, [ceIndex]]));
    const done = bench(['status', file, '--results', results, '--watch'], root);
    assert.equal(done.status, 0, done.stdout + done.stderr);
    const log = await readFile(join(results, 'exp', 'slurm', '2', 'logs', `pretext-${ceIndex}.out`), 'utf8');
    assert.match(log, new RegExp(`resuming at step \\d+ of ${STEPS}`));
    assert.deepEqual(await resultNumbers(join(results, 'exp', 'results.csv')), expected);
  });

  it('SIGUSR2 to a running task (SLURM\'s time-limit warning): it checkpoints, requeues itself and finishes with the uninterrupted numbers', async () => {
    const results = join(root, 'usr2');
    const r = bench(['run', file, '--backend', 'wasm', '--results', results, '--executor', 'slurm'], root);
    assert.equal(r.status, 0, r.stderr);
    const sub = await submission(join(results, 'exp'), 1);
    const pretextArray = sub.arrays[0];
    const ceIndex = pretextArray.jobs.findIndex((id) => id.startsWith('pretext/context-encoder'));
    const task = `${pretextArray.slurmJobId}_${ceIndex}`;
    await waitForCheckpoint(join(results, 'exp'));
    // What --signal=B:USR2@120 does before the time limit: the signal to the batch shell alone.
    slurm('scancel', ['--signal=USR2', '--batch', task]);
    const log = join(results, 'exp', 'slurm', '1', 'logs', `pretext-${ceIndex}.out`);
    const text = await waitForLog(log, /bench: requeueing \d+_\d \(restart 1 of 3\)/);
    const step = Number(/checkpointed at step (\d+)/.exec(text)?.[1]);
    assert.ok(step > 20 && step < STEPS, text);
    // SLURM holds a requeued job for 120 s before it may start again; the test does not wait for that.
    await waitForLog(log, /CANCELLED AT .* DUE TO JOB REQUEUE/);
    slurm('scontrol', ['update', `JobId=${task}`, 'StartTime=now']);

    const status = bench(['status', file, '--results', results, '--watch'], root);
    assert.equal(status.status, 0, status.stdout + status.stderr);
    const after = await readFile(log, 'utf8');
    assert.match(after, new RegExp(`restart 1: job pretext/context-encoder[\\s\\S]*resuming at step ${step + 1} of ${STEPS}`));
    assert.deepEqual(await resultNumbers(join(results, 'exp', 'results.csv')), expected);
  });
});
