/**
 * `bench job <experiment> <job-key>`: exactly one planned job, in its usual
 * folder with the usual atomic writes and resume, for a worker of `bench run
 * --jobs N` or a SLURM array task. It takes no lock (the `bench run` that
 * planned the sweep holds it, or submitted it) and synthesizes no dataset.
 * SIGUSR2 asks it to checkpoint and stop (exit code 3), as SLURM warns before
 * a time limit or a preemption.
 */
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { UserError } from '../errors.js';
import { initBackend, type BackendChoice } from '../engine/backend.js';
import { logLine } from '../engine/log.js';
import { requestStop, StoppedForResume } from '../engine/stop-request.js';
import { exists } from '../fs/atomic.js';
import { collectResults, RESULTS_FILE } from './collect.js';
import { prepareDatasets } from './datasets.js';
import { executeJob } from './job.js';
import { describeJob, EXIT_STOPPED, isDone, PLAN_FILE } from './job-files.js';
import { loadExperiment } from './load.js';
import { makePlan, type PlannedJob } from './plan.js';

export interface SingleJobOptions {
  backend: BackendChoice;
  resultsRoot?: string;
}

export function findJob(plan: PlannedJob[], key: string): PlannedJob | undefined {
  return plan.find((j) => j.id === key || j.hash === key);
}

/** Runs the job; returns its process exit code (0, or EXIT_STOPPED). */
export async function runSingleJob(file: string, key: string, opts: SingleJobOptions): Promise<number> {
  // First of all: SIGUSR2's default action would end the process, checkpoint or not.
  process.on('SIGUSR2', () => {
    logLine(`${key}: SIGUSR2 received; checkpointing at the end of the current training step and stopping`);
    requestStop('stopped by SIGUSR2');
  });
  const exp = await loadExperiment(file);
  const resultsRoot = resolve(opts.resultsRoot ?? 'results');
  const resultsDir = join(resultsRoot, exp.name);
  if (!(await exists(join(resultsDir, PLAN_FILE)))) {
    throw new UserError(
      `${join(resultsDir, PLAN_FILE)} is not visible on ${hostname()}: \`bench job\` runs a job that \`bench run\` planned there; ` +
        'on a cluster, the results folder must be on a filesystem every node sees (NFS, Lustre, GPFS, ...) at the same path',
    );
  }
  await prepareDatasets(exp, { synthesize: false });
  const backend = await initBackend(opts.backend);
  const plan = makePlan(exp, backend.name);
  const job = findJob(plan, key);
  if (!job) throw new UserError(`${key}: no job of experiment ${exp.name} on backend ${backend.name} has this key; the job ids are in ${join(resultsDir, PLAN_FILE)}`);
  if (job.stage === 'downstream' && !(await isDone(resultsDir, plan.find((j) => j.id === job.dependsOn)!))) {
    throw new UserError(`${key}: its pretext job ${job.dependsOn} has no results yet; run that job first`);
  }

  let ran: boolean;
  try {
    ({ ran } = await executeJob(job, { resultsRoot, resultsDir, backend: backend.name, label: describeJob(job) }));
  } catch (err) {
    if (!(err instanceof StoppedForResume)) throw err;
    logLine(`${describeJob(job)}: ${err.message}`);
    return EXIT_STOPPED;
  }
  process.stdout.write(`${job.id} ${ran ? 'ran' : 'reused'}\n`);
  if (await collectResults(exp.name, plan, resultsDir)) logLine(`experiment ${exp.name}: every job is done; ${join(resultsDir, RESULTS_FILE)} written`);
  return 0;
}
