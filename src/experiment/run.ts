/**
 * `bench run`: validates the experiment, prepares its datasets, takes the
 * results folder's lock, removes what an interrupted run left, writes the
 * plan, and hands the jobs without results to an executor (this process,
 * worker processes, or SLURM; see ./executors). A job whose metrics.json
 * exists is reused; metrics.json is written last, so only a finished job is
 * ever trusted. results.csv is written once every job is done.
 */
import { readdir, rm, stat } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { UserError } from '../errors.js';
import { initBackend, type BackendChoice, type BackendInfo } from '../engine/backend.js';
import { logLine } from '../engine/log.js';
import { LOCK_FILE, RunLock } from '../results/lock.js';
import { isTempName, writeJsonAtomic } from '../fs/atomic.js';
import { collectResults, RESULTS_FILE } from './collect.js';
import { EXECUTORS, type ExecutorSpec } from './executors/index.js';
import { prepareDatasets } from './datasets.js';
import { executeJob } from './job.js';
import { PARTIAL_SUFFIX, PLAN_FILE } from './job-files.js';
import { loadExperiment } from './load.js';
import { makePlan, type PlannedJob } from './plan.js';
import type { Experiment } from './types.js';

export interface RunOptions {
  backend: BackendChoice;
  /** Folder holding results/<experiment>/; default ./results. */
  resultsRoot?: string;
  /** Wait for another `bench run` of the same experiment instead of stopping. */
  wait?: boolean;
  /** Worker processes (--jobs); default 1. */
  jobs?: number;
  /** A name from src/experiment/executors (--executor); default local, or pool when jobs > 1. */
  executor?: string;
  /** The executor's own options (e.g. SLURM's partition), by the names it declares. */
  executorOptions?: Record<string, unknown>;
}

/**
 * Temporary files and folders of a run that was killed (they are renamed into
 * place only when whole). Called with the lock held, so no live run owns them.
 */
async function removeLeftovers(dir: string, depth = 3): Promise<number> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  let removed = 0;
  for (const entry of entries) {
    const path = join(dir, entry.name);
    // A lock being taken by another process is its own business.
    if (entry.name.startsWith(LOCK_FILE)) continue;
    if (isTempName(entry.name)) {
      await rm(path, { recursive: true, force: true });
      removed += 1;
    } else if (entry.isDirectory() && depth > 1) {
      removed += await removeLeftovers(path, depth - 1);
    }
  }
  return removed;
}

/** Bytes of the files under `path`. */
async function diskBytes(path: string): Promise<number> {
  const info = await stat(path);
  if (!info.isDirectory()) return info.size;
  let total = 0;
  for (const entry of await readdir(path)) total += await diskBytes(join(path, entry));
  return total;
}

function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/**
 * Checkpoint folders (results/<name>/<stage>/<job>.partial) of no job of
 * `plan`: left by an older config, whose jobs had other hashes. Only listed,
 * since going back to that config would resume them.
 */
async function strayCheckpoints(resultsDir: string, plan: PlannedJob[]): Promise<{ path: string; bytes: number }[]> {
  const wanted = new Set(plan.map((j) => `${j.dir}${PARTIAL_SUFFIX}`));
  const found: { path: string; bytes: number }[] = [];
  let stages;
  try {
    stages = await readdir(resultsDir, { withFileTypes: true });
  } catch {
    return found;
  }
  for (const stage of stages.filter((d) => d.isDirectory())) {
    for (const entry of await readdir(join(resultsDir, stage.name), { withFileTypes: true })) {
      if (!entry.isDirectory() || !entry.name.endsWith(PARTIAL_SUFFIX) || wanted.has(`${stage.name}/${entry.name}`)) continue;
      const path = join(resultsDir, stage.name, entry.name);
      found.push({ path, bytes: await diskBytes(path) });
    }
  }
  return found.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

export interface RunSummary {
  resultsDir: string;
  /** 'submitted': the jobs were handed to a scheduler (SLURM); results.csv comes when they are done. */
  outcome: 'finished' | 'submitted';
  ran: string[];
  reused: string[];
}

export async function runExperiment(file: string, opts: RunOptions): Promise<RunSummary> {
  const executor = executorFor(opts);
  const exp = await loadExperiment(file);
  const resultsRoot = resolve(opts.resultsRoot ?? 'results');
  const resultsDir = join(resultsRoot, exp.name);
  await prepareDatasets(exp);
  const backend = await initBackend(opts.backend);
  const lock = await RunLock.acquire(resultsDir, { wait: opts.wait });
  try {
    return await runLocked(exp, resultsRoot, resultsDir, backend, executor, opts);
  } finally {
    lock.release();
  }
}

/** The executor named by --executor; by default `pool` when --jobs asks for more than one process, else `local`. */
function executorFor(opts: RunOptions): ExecutorSpec {
  const jobs = opts.jobs ?? 1;
  const name = opts.executor ?? (jobs > 1 ? 'pool' : 'local');
  if (!EXECUTORS.has(name)) throw new UserError(`--executor ${name}: unknown executor; use one of ${EXECUTORS.names().join(', ')}`);
  const executor = EXECUTORS.get(name);
  if (jobs > 1 && !executor.parallel) throw new UserError(`--jobs ${jobs}: the ${name} executor runs one job at a time; drop --jobs or use --executor pool`);
  for (const other of EXECUTORS.all()) {
    if (other === executor) continue;
    const given = Object.keys(other.options ?? {}).find((option) => opts.executorOptions?.[option] !== undefined);
    if (given) throw new UserError(`--${given}: an option of the ${other.name} executor, not of ${name}; add --executor ${other.name} or drop it`);
  }
  return executor;
}

async function runLocked(
  exp: Experiment,
  resultsRoot: string,
  resultsDir: string,
  backend: BackendInfo,
  executor: ExecutorSpec,
  opts: RunOptions,
): Promise<RunSummary> {
  logLine(`experiment ${exp.name}: backend ${backend.name} (${backend.reason}${backend.name === 'wasm' ? `; ${backend.threads} thread${backend.threads === 1 ? '' : 's'}` : ''}); results in ${relative(process.cwd(), resultsDir) || '.'}`);
  // A sweep still queued or running owns its temporary folders: nothing here may touch them.
  for (const other of EXECUTORS.all()) await other.checkIdle?.({ exp, resultsDir });
  const leftovers = await removeLeftovers(resultsDir);
  if (leftovers > 0) logLine(`experiment ${exp.name}: removed ${leftovers} temporary file(s) of an interrupted run`);

  const plan = makePlan(exp, backend.name);
  const stray = await strayCheckpoints(resultsDir, plan);
  if (stray.length > 0) {
    const total = stray.reduce((sum, s) => sum + s.bytes, 0);
    logLine(
      `experiment ${exp.name}: ${stray.length} training checkpoint folder(s) of jobs not in this experiment's plan (left by an older config), ${formatBytes(total)}: ` +
        `${stray.map((s) => `${relative(process.cwd(), s.path)} (${formatBytes(s.bytes)})`).join(', ')}; delete them unless you will rerun that config`,
    );
  }
  await writeJsonAtomic(join(resultsDir, PLAN_FILE), {
    experiment: exp.name,
    jobs: plan.map((j) => ({
      id: j.id,
      stage: j.stage,
      method: j.method,
      task: j.stage === 'downstream' ? j.task : undefined,
      protocol: j.stage === 'downstream' ? (j.protocol ?? undefined) : undefined,
      layer: j.stage === 'downstream' ? (j.layer ?? undefined) : undefined,
      seed: j.seed,
      dir: j.dir,
      dependsOn: j.stage === 'downstream' ? j.dependsOn : undefined,
    })),
  });

  const executed = await executor.execute({
    exp,
    plan,
    resultsRoot,
    resultsDir,
    backend: backend.name,
    jobs: opts.jobs ?? 1,
    options: opts.executorOptions ?? {},
    executeJob,
  });
  const summary: RunSummary = { resultsDir, ...executed };
  if (executed.outcome === 'submitted') return summary;
  const metrics = await collectResults(exp.name, plan, resultsDir);
  if (!metrics) throw new Error(`experiment ${exp.name}: the ${executor.name} executor finished with jobs left undone`);
  logLine(`experiment ${exp.name}: ${summary.ran.length} jobs ran, ${summary.reused.length} reused; ${relative(process.cwd(), join(resultsDir, RESULTS_FILE))}`);
  const bad = [...new Set(metrics.flatMap((m) => m.skippedSamples ?? []))];
  if (bad.length > 0) {
    logLine(`experiment ${exp.name}: ${bad.length} bad sample(s) skipped (onBadSample "skip"; listed per job in metrics.json):\n  ${bad.join('\n  ')}`);
  }
  return summary;
}
