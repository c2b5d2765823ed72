/**
 * `bench status <experiment>`: every job of the last planned run (plan.json)
 * as done, running, pending, failed or not submitted, with its SLURM task id
 * and log file when a sweep was submitted. Works from any shell on a node
 * that sees the results folder. `--watch` polls, backing off, until nothing
 * is pending or running; results.csv is rebuilt once every job is done.
 */
import { readFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { UserError } from '../errors.js';
import { logLine } from '../engine/log.js';
import { collectResults, RESULTS_FILE } from './collect.js';
import { isActive, sacctStates, squeueStates } from './executors/slurm-queue.js';
import { readSubmissions } from './executors/slurm.js';
import { isDone, PLAN_FILE } from './job-files.js';
import { loadExperiment } from './load.js';

export type JobState = 'done' | 'running' | 'pending' | 'failed' | 'not submitted';

export interface JobStatus {
  id: string;
  /** Relative to results/<experiment>/. */
  dir: string;
  layer?: string;
  state: JobState;
  /** "<array job>_<task>" of the job's latest submission. */
  slurmId?: string;
  /** SLURM's own word when it explains a failure (CANCELLED, TIMEOUT, ...). */
  slurmState?: string;
  log?: string;
}

const RUNNING_STATES = new Set(['RUNNING', 'COMPLETING', 'CONFIGURING', 'SIGNALING', 'STAGE_OUT']);

export async function sweepStatus(resultsDir: string): Promise<JobStatus[]> {
  let plan: { jobs: { id: string; dir: string; layer?: string }[] };
  try {
    plan = JSON.parse(await readFile(join(resultsDir, PLAN_FILE), 'utf8'));
  } catch {
    throw new UserError(`${join(resultsDir, PLAN_FILE)}: not found; \`bench run\` writes it (is the results folder visible from this node? see --results)`);
  }
  const submissions = await readSubmissions(resultsDir);
  const latest = new Map<string, { slurmId: string; log: string }>();
  for (const { dir, submission } of submissions) {
    for (const array of submission.arrays) {
      for (const index of array.indices) {
        latest.set(array.jobs[index], { slurmId: `${array.slurmJobId}_${index}`, log: join(dir, array.log.replace('%a', String(index))) });
      }
    }
  }
  const arrayIds = submissions.flatMap((s) => s.submission.arrays.map((a) => a.slurmJobId));
  const queue = latest.size > 0 ? squeueStates(arrayIds) : new Map<string, string>();
  const accounting = latest.size > 0 ? sacctStates(arrayIds) : null;

  const statuses: JobStatus[] = [];
  for (const job of plan.jobs) {
    const task = latest.get(job.id);
    if (await isDone(resultsDir, job)) {
      statuses.push({ id: job.id, dir: job.dir, layer: job.layer, state: 'done', ...task });
      continue;
    }
    if (!task) {
      statuses.push({ id: job.id, dir: job.dir, state: 'not submitted' });
      continue;
    }
    const slurmState = queue.get(task.slurmId) ?? accounting?.get(task.slurmId);
    const state: JobState = RUNNING_STATES.has(slurmState ?? '') ? 'running' : isActive(slurmState) ? 'pending' : 'failed';
    statuses.push({ id: job.id, dir: job.dir, state, ...task, slurmState: state === 'failed' ? (slurmState ?? 'left the queue without results') : slurmState });
  }
  return statuses;
}

const ORDER: JobState[] = ['done', 'running', 'pending', 'failed', 'not submitted'];

export function summarize(statuses: JobStatus[]): string {
  return ORDER.map((s) => `${statuses.filter((j) => j.state === s).length} ${s}`).join(', ');
}

function table(statuses: JobStatus[]): string {
  const rows = statuses.map((s) => [s.state + (s.state === 'failed' ? ` (${s.slurmState})` : ''), s.slurmId ?? '-', s.id, s.log ? relative(process.cwd(), s.log) : '-']);
  const header = ['state', 'slurm id', 'job', 'log'];
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  return [header, ...rows].map((r) => r.map((cell, c) => cell.padEnd(widths[c])).join('  ').trimEnd()).join('\n');
}

export interface StatusOptions {
  resultsRoot?: string;
  watch?: boolean;
  /** First polling interval of --watch; it grows 1.5x per unchanged poll up to 60 s. */
  pollMs?: number;
}

/** Prints the table (stdout); returns the exit code: 1 when --watch ends with failed or unsubmitted jobs. */
export async function runStatus(file: string, opts: StatusOptions): Promise<number> {
  const exp = await loadExperiment(file);
  const resultsDir = join(resolve(opts.resultsRoot ?? 'results'), exp.name);
  const firstPoll = opts.pollMs ?? 2000;
  let statuses = await sweepStatus(resultsDir);
  if (opts.watch) {
    let poll = firstPoll;
    let last = '';
    while (statuses.some((s) => s.state === 'running' || s.state === 'pending')) {
      const line = summarize(statuses);
      if (line !== last) {
        logLine(`${exp.name}: ${line}`);
        poll = firstPoll;
      } else {
        poll = Math.min(60_000, poll * 1.5);
      }
      last = line;
      await sleep(poll);
      statuses = await sweepStatus(resultsDir);
    }
  }
  process.stdout.write(`${table(statuses)}\n${exp.name}: ${summarize(statuses)}\n`);
  if (statuses.every((s) => s.state === 'done')) {
    await collectResults(exp.name, statuses, resultsDir);
    logLine(`${exp.name}: every job is done; ${relative(process.cwd(), join(resultsDir, RESULTS_FILE))} written`);
  }
  return opts.watch && statuses.some((s) => s.state !== 'done') ? 1 : 0;
}
