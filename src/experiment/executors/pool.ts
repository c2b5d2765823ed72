/**
 * `bench run --jobs N`: N worker processes on this machine, each job in its
 * own `bench job` process (a fresh tfjs runtime per job, as on a cluster). A
 * downstream job starts once its pretext job's results exist; among the jobs
 * that are ready, plan order decides. The parent holds the run lock; workers
 * take none. Worker output is forwarded line by line, prefixed with the job.
 *
 * After a failure no new job starts; the running ones finish (their results
 * and checkpoints count for the rerun), then the first failure is raised.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { UserError } from '../../errors.js';
import { logLine } from '../../engine/log.js';
import { describeJob, isDone } from '../job-files.js';
import type { PlannedJob } from '../plan.js';
import { benchCommand } from './bench-command.js';
import { registerExecutor, type ExecutionContext } from './registry.js';
import { THREADS_ENV, wasmThreadCount } from '../../engine/wasm-threads.js';

interface Finished {
  job: PlannedJob;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The worker's last stderr line (its error message, when it failed). */
  lastLine: string;
  ran: boolean;
}

/**
 * Threads per worker: what --threads (BENCH_THREADS) says, else the cores
 * shared out between the workers, so N workers never ask for more threads
 * than the machine has.
 */
export function workerThreads(jobs: number, env: NodeJS.ProcessEnv = process.env): number {
  if (env[THREADS_ENV]) return wasmThreadCount(env);
  return Math.max(1, Math.floor(wasmThreadCount(env) / Math.max(1, jobs)));
}

function startWorker(job: PlannedJob, ctx: ExecutionContext, tag: string): { child: ChildProcess; done: Promise<Finished> } {
  const [command, ...args] = benchCommand();
  const child = spawn(command, [...args, 'job', ctx.exp.file, job.id, '--backend', ctx.backend, '--results', ctx.resultsRoot], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, [THREADS_ENV]: String(workerThreads(ctx.jobs)) },
  });
  let lastLine = '';
  let ran = false;
  createInterface({ input: child.stderr! }).on('line', (line) => {
    if (line.trim()) lastLine = line;
    logLine(`${tag} ${line}`);
  });
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (line === `${job.id} ran`) ran = true;
  });
  const done = new Promise<Finished>((resolve, reject) => {
    child.on('error', reject);
    // 'close' (not 'exit'): the output streams have been read to the end.
    child.on('close', (code, signal) => resolve({ job, code, signal, lastLine, ran }));
  });
  return { child, done };
}

/** The error a failed worker stands for: its own user error (exit 2) passed on as one, anything else as a failure naming the job. */
function failure(f: Finished): Error {
  const why = f.lastLine.replace(/^error: /, '');
  if (f.code === 2) return new UserError(why);
  const how = f.signal ? `was killed by ${f.signal}` : `exited with code ${f.code}`;
  return new Error(`${describeJob(f.job)} (${f.job.id}) ${how}${why ? `: ${why}` : ''}`);
}

async function execute(ctx: ExecutionContext) {
  const { plan, resultsDir } = ctx;
  const workers = Math.max(1, ctx.jobs);
  const ran: string[] = [];
  const reused: string[] = [];
  const waiting: PlannedJob[] = [];
  for (const job of plan) {
    if (await isDone(resultsDir, job)) reused.push(job.id);
    else waiting.push(job);
  }
  const number = new Map(plan.map((job, i) => [job.id, i + 1]));
  const done = new Set(reused);
  const running = new Map<string, { child: ChildProcess; done: Promise<Finished> }>();
  let firstFailure: Error | null = null;

  // Workers die with the run: a signal to this process alone would leave them orphaned.
  const stopWorkers = (signal: NodeJS.Signals) => {
    for (const { child } of running.values()) child.kill(signal);
  };
  const onSignal = (signal: NodeJS.Signals) => stopWorkers(signal);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const ready = (job: PlannedJob) => job.stage === 'pretext' || done.has(job.dependsOn);
  const showRunning = () => logLine(`running ${running.size} of ${workers}: ${[...running.keys()].map((id) => `[${number.get(id)}] ${id}`).join(', ') || 'none'}`);
  try {
    logLine(`${waiting.length} job(s) to run on ${workers} worker process(es), ${reused.length} already done`);
    while (waiting.length > 0 || running.size > 0) {
      while (!firstFailure && running.size < workers) {
        const next = waiting.findIndex(ready);
        if (next < 0) break;
        const [job] = waiting.splice(next, 1);
        const tag = `[${number.get(job.id)}/${plan.length}]`;
        running.set(job.id, startWorker(job, ctx, tag));
        showRunning();
      }
      if (running.size === 0) break;
      const finished = await Promise.race([...running.values()].map((w) => w.done));
      running.delete(finished.job.id);
      if (finished.code === 0) {
        done.add(finished.job.id);
        (finished.ran ? ran : reused).push(finished.job.id);
      } else {
        firstFailure ??= failure(finished);
      }
      showRunning();
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    stopWorkers('SIGTERM');
  }
  if (firstFailure) throw firstFailure;
  return { outcome: 'finished' as const, ran, reused };
}

registerExecutor({
  name: 'pool',
  describe: 'worker processes on this machine (--jobs N), each job in its own `bench job` process',
  parallel: true,
  execute,
});
