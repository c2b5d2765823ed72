/**
 * One planned job, start to finish: reused when its metrics.json exists,
 * copied when an identical pretext job finished in another experiment, else
 * trained in a folder built under a temporary name and renamed into place,
 * resuming from its training checkpoint. Every executor runs jobs through
 * this, in this process (local) or in a `bench job` process (pool, SLURM).
 */
import { cp, readdir, readFile, rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { logLine } from '../engine/log.js';
import { openDataset } from '../data/formats/index.js';
import { PRETEXT_METHODS, ENCODER_DIR, GENERATOR_DIR } from '../pretext/index.js';
import { DOWNSTREAM_TASKS, PROTOCOLS } from '../downstream/index.js';
import { exists, writeDirAtomic, writeJsonAtomic } from '../fs/atomic.js';
import type { JobMetrics } from '../results/format.js';
import { isDone, METRICS_FILE, PARTIAL_SUFFIX, readJobMetrics, STATE_FILE } from './job-files.js';
import type { PlannedDownstream, PlannedJob, PlannedPretext } from './plan.js';

export interface JobContext {
  /** Folder holding every experiment's results (for reusing identical pretext jobs). */
  resultsRoot: string;
  /** results/<experiment>/ */
  resultsDir: string;
  backend: string;
  /** Prefix of the job's log lines, e.g. "[3/45] classification/frozen on random (seed 1)". */
  label: string;
}

/** A finished pretext job with the same hash in another experiment's results, copied instead of retrained. */
async function findPretextElsewhere(resultsRoot: string, job: PlannedPretext, ownDir: string): Promise<string | null> {
  let experiments: string[];
  try {
    experiments = await readdir(resultsRoot);
  } catch {
    return null;
  }
  for (const exp of experiments) {
    const pretextDir = join(resultsRoot, exp, 'pretext');
    let entries: string[];
    try {
      entries = await readdir(pretextDir);
    } catch {
      continue;
    }
    for (const entry of entries) {
      const dir = join(pretextDir, entry);
      if (dir !== ownDir && entry.endsWith(`-${job.hash}`) && (await exists(join(dir, METRICS_FILE)))) return dir;
    }
  }
  return null;
}

async function runPretext(job: PlannedPretext, outDir: string, partialDir: string, backend: string): Promise<JobMetrics> {
  const started = performance.now();
  const outcome = await PRETEXT_METHODS.get(job.config.method).train(
    {
      config: job.config,
      model: job.model,
      dataset: job.dataset,
      seed: job.seed,
      outDir,
      resume: { file: join(partialDir, STATE_FILE), key: job.hash },
    },
    { dataset: await openDataset(job.dataset) },
  );
  return {
    id: job.id,
    stage: 'pretext',
    method: job.method,
    seed: job.seed,
    backend,
    wallSeconds: (performance.now() - started) / 1000,
    imgPerSec: outcome.imgPerSec,
    summary: outcome.summary,
    ...skipped(outcome.skippedSamples),
  };
}

function skipped(list: string[]): Pick<JobMetrics, 'skippedSamples'> {
  return list.length > 0 ? { skippedSamples: list } : {};
}

async function runDownstream(job: PlannedDownstream, outDir: string, partialDir: string, pretextDir: string, backend: string): Promise<JobMetrics> {
  const started = performance.now();
  const outcome = await DOWNSTREAM_TASKS.get(job.task).run(
    {
      config: job.config,
      protocol: job.protocol,
      layer: job.layer,
      dataset: job.dataset,
      seed: job.seed,
      method: job.method,
      encoderDir: join(pretextDir, ENCODER_DIR),
      generatorDir: join(pretextDir, GENERATOR_DIR),
      outDir,
      resume: { file: join(partialDir, STATE_FILE), key: job.hash },
    },
    { dataset: await openDataset(job.dataset), protocol: job.protocol === null ? null : PROTOCOLS.get(job.protocol) },
  );
  return {
    id: job.id,
    stage: 'downstream',
    method: job.method,
    task: job.task,
    protocol: job.protocol ?? undefined,
    layer: job.layer ?? undefined,
    seed: job.seed,
    backend,
    wallSeconds: (performance.now() - started) / 1000,
    imgPerSec: outcome.imgPerSec,
    summary: outcome.summary,
    perClass: outcome.perClass,
    samples: outcome.samples,
    ...skipped(outcome.skippedSamples),
  };
}

function jobConfig(job: PlannedJob): Record<string, unknown> {
  return job.stage === 'pretext'
    ? { id: job.id, stage: job.stage, hash: job.hash, seed: job.seed, method: job.config, model: job.model, dataset: job.dataset }
    : { id: job.id, stage: job.stage, hash: job.hash, seed: job.seed, method: job.method, task: job.config, protocol: job.protocol, layer: job.layer, dataset: job.dataset, pretext: job.dependsOn };
}

function formatNumber(v: number): string {
  return Math.abs(v) >= 100 || Number.isInteger(v) ? v.toFixed(1) : v.toPrecision(4);
}

/** Runs (or reuses) one job whose dependency is done; `ran` says whether it trained here. */
export async function executeJob(job: PlannedJob, ctx: JobContext): Promise<{ metrics: JobMetrics; ran: boolean }> {
  const { resultsRoot, resultsDir, backend, label } = ctx;
  const outDir = join(resultsDir, job.dir);
  if (await isDone(resultsDir, job)) {
    logLine(`${label}: reusing ${relative(process.cwd(), outDir)}`);
    return { metrics: await readJobMetrics(resultsDir, job), ran: false };
  }
  const elsewhere = job.stage === 'pretext' ? await findPretextElsewhere(resultsRoot, job, outDir) : null;
  if (elsewhere) {
    logLine(`${label}: reusing the identical job ${relative(process.cwd(), elsewhere)}`);
    await writeDirAtomic(outDir, async (tmp) => {
      await cp(elsewhere, tmp, { recursive: true });
      // The label is not part of the job key: the copy takes this experiment's.
      const copied = JSON.parse(await readFile(join(tmp, METRICS_FILE), 'utf8')) as JobMetrics;
      await writeJsonAtomic(join(tmp, METRICS_FILE), { ...copied, id: job.id, method: job.method });
    });
    return { metrics: await readJobMetrics(resultsDir, job), ran: false };
  }
  logLine(`${label}: running in ${relative(process.cwd(), outDir)}`);
  // The whole job folder is built under a temporary name and renamed in when done.
  let result: JobMetrics | undefined;
  const partialDir = `${outDir}${PARTIAL_SUFFIX}`;
  await writeDirAtomic(outDir, async (tmp) => {
    await writeJsonAtomic(join(tmp, 'config.json'), { ...jobConfig(job), backend });
    result =
      job.stage === 'pretext'
        ? await runPretext(job, tmp, partialDir, backend)
        : await runDownstream(job, tmp, partialDir, join(resultsDir, job.dependsOn), backend);
    await writeJsonAtomic(join(tmp, METRICS_FILE), result);
  });
  if (!result) throw new Error(`job ${job.id} produced no metrics`);
  await rm(partialDir, { recursive: true, force: true });
  const skippedNote = result.skippedSamples ? `; ${result.skippedSamples.length} bad sample(s) skipped` : '';
  logLine(`${label}: ${Object.entries(result.summary).map(([k, v]) => `${k} ${formatNumber(v)}`).join(', ')} (${result.wallSeconds.toFixed(1)} s)${skippedNote}`);
  return { metrics: result, ran: true };
}
