/**
 * Executes a plan in dependency order: pretext jobs first, then the
 * downstream jobs that read their checkpoints. A job whose metrics.json
 * exists is reused; metrics.json is written last, so only a finished job is
 * ever trusted.
 */
import { cp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { UserError } from '../errors.js';
import { initBackend, type BackendChoice } from '../engine/backend.js';
import { logLine } from '../engine/log.js';
import { DATASET_FORMATS, openDataset } from '../data/formats/index.js';
import { PRETEXT_METHODS, ENCODER_DIR, GENERATOR_DIR } from '../pretext/index.js';
import { DOWNSTREAM_TASKS, PROTOCOLS } from '../downstream/index.js';
import { resultRecords, RESULTS_COLUMNS, type JobMetrics } from '../results/format.js';
import { LOCK_FILE, RunLock } from '../results/lock.js';
import { exists, isTempName, writeDirAtomic, writeFileAtomic, writeJsonAtomic } from '../fs/atomic.js';
import { loadExperiment } from './load.js';
import { makePlan, type PlannedDownstream, type PlannedJob, type PlannedPretext } from './plan.js';
import type { DatasetConfig, Experiment } from './types.js';

export interface RunOptions {
  backend: BackendChoice;
  /** Folder holding results/<experiment>/; default ./results. */
  resultsRoot?: string;
  /** Wait for another `bench run` of the same experiment instead of stopping. */
  wait?: boolean;
}

/** A training job's checkpoints, beside its folder (which only exists once the job is done). */
export const PARTIAL_SUFFIX = '.partial';
const STATE_FILE = 'state.bin';

/** Synthesizes datasets that ask for it and are missing; fails early, naming every other missing dataset. */
async function prepareDatasets(exp: Experiment): Promise<void> {
  const missing: string[] = [];
  const toSynthesize: [string, DatasetConfig][] = [];
  for (const [key, ds] of Object.entries(exp.datasets)) {
    if (await exists(ds.root)) continue;
    if (ds.synthesize) toSynthesize.push([key, ds]);
    else missing.push(`${exp.file} /datasets/${key}/root: ${ds.root} does not exist; ${DATASET_FORMATS.get(ds.format).missingHelp}`);
  }
  if (missing.length > 0) throw new UserError(missing.join('\n'));
  for (const [key, ds] of toSynthesize) {
    const synth = ds.synthesize!;
    const format = DATASET_FORMATS.get(ds.format);
    logLine(`dataset ${key}: writing a synthetic ${format.name} dataset to ${ds.root} (${synth.images} images, ${synth.size}px, seed ${synth.seed})`);
    // Written beside its final place and renamed in, so a half-written dataset is never mistaken for a whole one.
    await writeDirAtomic(ds.root, (tmp) => format.synthesize!(tmp, synth));
  }
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
      if (dir !== ownDir && entry.endsWith(`-${job.hash}`) && (await exists(join(dir, 'metrics.json')))) return dir;
    }
  }
  return null;
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

function describeJob(job: PlannedJob): string {
  return job.stage === 'pretext'
    ? `pretext ${job.method} (seed ${job.seed})`
    : `${job.task}${job.protocol ? `/${job.protocol}` : ''}${job.layer && job.config.layers ? ` at ${job.layer}` : ''} on ${job.method} (seed ${job.seed})`;
}

export interface RunSummary {
  resultsDir: string;
  ran: string[];
  reused: string[];
}

export async function runExperiment(file: string, opts: RunOptions): Promise<RunSummary> {
  const exp = await loadExperiment(file);
  const resultsRoot = resolve(opts.resultsRoot ?? 'results');
  const resultsDir = join(resultsRoot, exp.name);
  await prepareDatasets(exp);
  const backend = await initBackend(opts.backend);
  const lock = await RunLock.acquire(resultsDir, { wait: opts.wait });
  try {
    return await runLocked(exp, resultsRoot, resultsDir, backend);
  } finally {
    lock.release();
  }
}

async function runLocked(exp: Experiment, resultsRoot: string, resultsDir: string, backend: { name: string; reason: string }): Promise<RunSummary> {
  logLine(`experiment ${exp.name}: backend ${backend.name} (${backend.reason}); results in ${relative(process.cwd(), resultsDir) || '.'}`);
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
  await writeJsonAtomic(join(resultsDir, 'plan.json'), {
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

  const summary: RunSummary = { resultsDir, ran: [], reused: [] };
  const metrics: JobMetrics[] = [];
  for (const [index, job] of plan.entries()) {
    const outDir = join(resultsDir, job.dir);
    const metricsPath = join(outDir, 'metrics.json');
    const label = `[${index + 1}/${plan.length}] ${describeJob(job)}`;
    if (await exists(metricsPath)) {
      logLine(`${label}: reusing ${relative(process.cwd(), outDir)}`);
      summary.reused.push(job.id);
    } else {
      const elsewhere = job.stage === 'pretext' ? await findPretextElsewhere(resultsRoot, job, outDir) : null;
      if (elsewhere) {
        logLine(`${label}: reusing the identical job ${relative(process.cwd(), elsewhere)}`);
        await writeDirAtomic(outDir, async (tmp) => {
          await cp(elsewhere, tmp, { recursive: true });
          // The label is not part of the job key: the copy takes this experiment's.
          const copied = JSON.parse(await readFile(join(tmp, 'metrics.json'), 'utf8')) as JobMetrics;
          await writeJsonAtomic(join(tmp, 'metrics.json'), { ...copied, id: job.id, method: job.method });
        });
        summary.reused.push(job.id);
      } else {
        logLine(`${label}: running in ${relative(process.cwd(), outDir)}`);
        // The whole job folder is built under a temporary name and renamed in when done.
        let result: JobMetrics | undefined;
        const partialDir = `${outDir}${PARTIAL_SUFFIX}`;
        await writeDirAtomic(outDir, async (tmp) => {
          await writeJsonAtomic(join(tmp, 'config.json'), { ...jobConfig(job), backend: backend.name });
          result =
            job.stage === 'pretext'
              ? await runPretext(job, tmp, partialDir, backend.name)
              : await runDownstream(job, tmp, partialDir, join(resultsDir, job.dependsOn), backend.name);
          await writeJsonAtomic(join(tmp, 'metrics.json'), result);
        });
        if (!result) throw new Error(`job ${job.id} produced no metrics`);
        await rm(partialDir, { recursive: true, force: true });
        const skippedNote = result.skippedSamples ? `; ${result.skippedSamples.length} bad sample(s) skipped` : '';
        logLine(`${label}: ${Object.entries(result.summary).map(([k, v]) => `${k} ${formatNumber(v)}`).join(', ')} (${result.wallSeconds.toFixed(1)} s)${skippedNote}`);
        summary.ran.push(job.id);
      }
    }
    const finished = JSON.parse(await readFile(metricsPath, 'utf8')) as JobMetrics;
    // Jobs finished before results had a layer column take it from the plan, which derives it from the same config.
    metrics.push(job.stage === 'downstream' && job.layer !== null ? { ...finished, layer: job.layer } : finished);
  }
  await writeFileAtomic(join(resultsDir, 'results.csv'), stringify(resultRecords(exp.name, metrics), { header: true, columns: [...RESULTS_COLUMNS] }));
  logLine(`experiment ${exp.name}: ${summary.ran.length} jobs ran, ${summary.reused.length} reused; ${relative(process.cwd(), join(resultsDir, 'results.csv'))}`);
  const bad = [...new Set(metrics.flatMap((m) => m.skippedSamples ?? []))];
  if (bad.length > 0) {
    logLine(`experiment ${exp.name}: ${bad.length} bad sample(s) skipped (onBadSample "skip"; listed per job in metrics.json):\n  ${bad.join('\n  ')}`);
  }
  return summary;
}

function jobConfig(job: PlannedJob): Record<string, unknown> {
  return job.stage === 'pretext'
    ? { id: job.id, stage: job.stage, hash: job.hash, seed: job.seed, method: job.config, model: job.model, dataset: job.dataset }
    : { id: job.id, stage: job.stage, hash: job.hash, seed: job.seed, method: job.method, task: job.config, protocol: job.protocol, layer: job.layer, dataset: job.dataset, pretext: job.dependsOn };
}

function formatNumber(v: number): string {
  return Math.abs(v) >= 100 || Number.isInteger(v) ? v.toFixed(1) : v.toPrecision(4);
}

