/**
 * `bench run --executor slurm`: the plan's unfinished jobs as SLURM job
 * arrays, one per stage: `pretext` (one task per pretext job) and one per
 * downstream task, protocol and layer (e.g. `classification-frozen`). Array index i
 * is the i-th pretext job of the plan in every array, so each downstream
 * array depends on the pretext array with `aftercorr`: its task i starts as
 * soon as pretext task i has succeeded, not when the whole pretext stage has
 * (and `--kill-on-invalid-dep` cancels it if that task fails). Only jobs
 * without results get an index in `--array`, so a rerun resubmits exactly
 * what is missing.
 *
 * Each submission is a folder results/<name>/slurm/<n>/ holding the sbatch
 * scripts, the manifests (line i+1: the job id of index i), logs/ and
 * submission.json (SLURM job ids), which `bench status` reads.
 */
import { mkdir, readdir, readFile, statfs } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { UserError } from '../../errors.js';
import { logLine } from '../../engine/log.js';
import { writeFileAtomic, writeJsonAtomic } from '../../fs/atomic.js';
import { EXIT_STOPPED, isDone } from '../job-files.js';
import type { PlannedJob } from '../plan.js';
import { benchCommand } from './bench-command.js';
import { registerExecutor, type ExecutionContext } from './registry.js';
import { hasCommand, isActive, slurmCommand, squeueStates } from './slurm-queue.js';

export const SLURM_DIR = 'slurm';
export const SUBMISSION_FILE = 'submission.json';

export interface SubmittedArray {
  /** `pretext`, or `<task>[-<protocol>][-<layer>]`. */
  name: string;
  slurmJobId: string;
  /** Array indices submitted (the jobs that had no results). */
  indices: number[];
  /** Job id per array index (the manifest's lines). */
  jobs: string[];
  script: string;
  /** Log file pattern relative to the submission folder, %a = array index. */
  log: string;
}

export interface Submission {
  experiment: string;
  submitted: string;
  backend: string;
  arrays: SubmittedArray[];
}

/** Every submission of the experiment, oldest first, with its folder. */
export async function readSubmissions(resultsDir: string): Promise<{ dir: string; submission: Submission }[]> {
  const root = join(resultsDir, SLURM_DIR);
  let entries: string[];
  try {
    entries = await readdir(root);
  } catch {
    return [];
  }
  const out: { dir: string; submission: Submission }[] = [];
  for (const entry of entries.filter((e) => /^\d+$/.test(e)).sort((a, b) => Number(a) - Number(b))) {
    try {
      out.push({ dir: join(root, entry), submission: JSON.parse(await readFile(join(root, entry, SUBMISSION_FILE), 'utf8')) as Submission });
    } catch {
      // A submission that failed before its first sbatch has no record and no SLURM job.
    }
  }
  return out;
}

/**
 * `aftercorr` pairs array indices, so array index i is pretext job i in every
 * array. makePlan lists each pretext job's downstream jobs in the same order
 * (entries x protocols x layers), so the k-th of them forms the k-th
 * downstream array, named after its task, protocol and (when the entry lists
 * several) layer.
 */
export function slurmArrays(plan: PlannedJob[]): { name: string; jobs: PlannedJob[] }[] {
  const pretext = plan.filter((j) => j.stage === 'pretext');
  const slots: { name: string; jobs: PlannedJob[] }[] = [];
  const seen = new Map<string, number>();
  for (const job of plan) {
    if (job.stage !== 'downstream') continue;
    const index = pretext.findIndex((p) => p.id === job.dependsOn);
    const k = seen.get(job.dependsOn) ?? 0;
    seen.set(job.dependsOn, k + 1);
    if (!slots[k]) {
      const name = `${job.task}${job.protocol ? `-${job.protocol}` : ''}${job.layer && job.config.layers ? `-${job.layer}` : ''}`;
      // Two entries of one task with the same protocol and layer (other settings) still need two arrays.
      slots[k] = { name: slots.some((slot) => slot.name === name) ? `${name}-${k + 1}` : name, jobs: new Array<PlannedJob>(pretext.length) };
    }
    slots[k].jobs[index] = job;
  }
  return [{ name: 'pretext', jobs: pretext }, ...slots];
}

const OPTIONS = {
  partition: { type: 'string', describe: 'SLURM: sbatch --partition' },
  time: { type: 'string', describe: 'SLURM: sbatch --time (HH:MM:SS) per job; jobs checkpoint 120 s before it and requeue' },
  'cpus-per-task': { type: 'number', describe: 'SLURM: sbatch --cpus-per-task (default 1)' },
  mem: { type: 'string', describe: 'SLURM: sbatch --mem per job, e.g. 4G' },
  gres: { type: 'string', describe: 'SLURM: sbatch --gres, e.g. gpu:1' },
  'max-parallel': { type: 'number', describe: 'SLURM: at most K tasks of each array at once (--array=...%K)' },
  'max-requeues': { type: 'number', describe: 'SLURM: times a job requeues itself after the time-limit warning (default 3)' },
} as const;

type SlurmOptions = { partition?: string; time?: string; cpusPerTask: number; mem?: string; gres?: string; maxParallel?: number; maxRequeues: number };

function slurmOptions(raw: Record<string, unknown>): SlurmOptions {
  const opts = {
    partition: raw.partition as string | undefined,
    time: raw.time as string | undefined,
    cpusPerTask: (raw['cpus-per-task'] as number | undefined) ?? 1,
    mem: raw.mem as string | undefined,
    gres: raw.gres as string | undefined,
    maxParallel: raw['max-parallel'] as number | undefined,
    maxRequeues: (raw['max-requeues'] as number | undefined) ?? 3,
  };
  if (opts.time !== undefined && !/^(\d+-)?\d{1,2}(:\d{2}){0,2}$/.test(opts.time)) throw new UserError(`--time ${opts.time}: use HH:MM:SS (or D-HH:MM:SS, MM, MM:SS)`);
  for (const [flag, value] of [['--cpus-per-task', opts.cpusPerTask], ['--max-parallel', opts.maxParallel]] as const) {
    if (value !== undefined && !(Number.isInteger(value) && value >= 1)) throw new UserError(`${flag} ${value}: must be a whole number of at least 1`);
  }
  if (!(Number.isInteger(opts.maxRequeues) && opts.maxRequeues >= 0)) throw new UserError(`--max-requeues ${opts.maxRequeues}: must be a whole number of at least 0`);
  return opts;
}

/** Single quotes for bash. */
function q(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** The sbatch script of one array: runs `bench job` for line SLURM_ARRAY_TASK_ID+1 of its manifest. */
function batchScript(args: { ctx: ExecutionContext; name: string; indices: number[]; manifest: string; log: string; opts: SlurmOptions }): string {
  const { ctx, name, indices, manifest, log, opts } = args;
  const directives = [
    `--job-name=bench-${ctx.exp.name}-${name}`,
    `--array=${indices.join(',')}${opts.maxParallel ? `%${opts.maxParallel}` : ''}`,
    `--output=${log}`,
    // A requeued task appends to its log instead of truncating it.
    '--open-mode=append',
    '--requeue',
    `--signal=B:USR2@120`,
    `--chdir=${process.cwd()}`,
    `--cpus-per-task=${opts.cpusPerTask}`,
    ...(opts.partition ? [`--partition=${opts.partition}`] : []),
    ...(opts.time ? [`--time=${opts.time}`] : []),
    ...(opts.mem ? [`--mem=${opts.mem}`] : []),
    ...(opts.gres ? [`--gres=${opts.gres}`] : []),
  ];
  const job = [...benchCommand(), 'job', ctx.exp.file].map(q).join(' ');
  return `#!/bin/bash
${directives.map((d) => `#SBATCH ${d}`).join('\n')}
# Written by \`bench run --executor slurm\` for experiment ${ctx.exp.name}, stage ${name}:
# array task i runs \`bench job\` for the job on line i+1 of ${manifest}.
set -u
results=${q(ctx.resultsDir)}
if [ ! -f "$results/plan.json" ]; then
  echo "error: $results is not visible on $(hostname): the results folder must be on a filesystem every node sees (NFS, Lustre, GPFS, ...) at the same path" >&2
  exit 2
fi
key=$(sed -n "$((SLURM_ARRAY_TASK_ID + 1))p" ${q(manifest)})
task="\${SLURM_ARRAY_JOB_ID}_\${SLURM_ARRAY_TASK_ID}"
echo "bench: task $task on $(hostname), restart \${SLURM_RESTART_COUNT:-0}: job $key"
warned=0
${job} "$key" --backend ${q(ctx.backend)} --results ${q(ctx.resultsRoot)} &
pid=$!
# SLURM's warning before the time limit or a preemption (--signal=B:USR2@120) goes to this shell only:
# pass it on, and the job checkpoints at the end of its current step and exits ${EXIT_STOPPED}.
trap 'warned=1; kill -USR2 $pid' USR2
wait $pid
status=$?
if [ "$warned" = 1 ]; then
  # The trap cut the first wait short; this one collects the job's own exit status.
  wait $pid
  again=$?
  [ "$again" -ne 127 ] && status=$again
fi
if [ "$status" -eq ${EXIT_STOPPED} ]; then
  if [ "\${SLURM_RESTART_COUNT:-0}" -lt ${opts.maxRequeues} ]; then
    echo "bench: requeueing $task (restart $((\${SLURM_RESTART_COUNT:-0} + 1)) of ${opts.maxRequeues}); it resumes from its checkpoint"
    scontrol requeue "$task"
    # SLURM ends this task as it requeues it.
    sleep 600
  fi
  echo "error: job $key stopped at a checkpoint after ${opts.maxRequeues} requeue(s); rerun \\\`bench run --executor slurm\\\` to resume it" >&2
fi
exit "$status"
`;
}

async function nextSubmissionDir(resultsDir: string): Promise<string> {
  const root = join(resultsDir, SLURM_DIR);
  await mkdir(root, { recursive: true });
  const numbers = (await readdir(root)).filter((e) => /^\d+$/.test(e)).map(Number);
  return join(root, String(Math.max(0, ...numbers) + 1));
}

/** Filesystems that only their own machine sees (statfs magic numbers). */
const LOCAL_FILESYSTEMS: Record<number, string> = {
  0xef53: 'ext2/3/4',
  0x58465342: 'xfs',
  0x9123683e: 'btrfs',
  0x01021994: 'tmpfs',
  0x794c7630: 'overlayfs',
  0x2fc12fc1: 'zfs',
};

/** Warns when the results folder is on a machine-local filesystem and the partition has several nodes. */
async function checkSharedFilesystem(resultsDir: string, partition: string | undefined): Promise<void> {
  const fsName = LOCAL_FILESYSTEMS[(await statfs(resultsDir)).type];
  if (!fsName) return;
  const counts = slurmCommand('sinfo', ['--noheader', '--format=%D', ...(partition ? ['--partition', partition] : [])], 'reading the partition size');
  const nodes = counts.split('\n').reduce((sum, n) => sum + (Number(n.trim()) || 0), 0);
  if (nodes > 1) {
    logLine(
      `warning: ${resultsDir} is on a local ${fsName} filesystem and the partition has ${nodes} nodes: tasks on other nodes will not see it and fail; ` +
        'put --results on a shared filesystem (NFS, Lustre, GPFS, ...) unless this path is one on every node',
    );
  }
}

async function execute(ctx: ExecutionContext) {
  const opts = slurmOptions(ctx.options);
  const reused: string[] = [];
  for (const job of ctx.plan) if (await isDone(ctx.resultsDir, job)) reused.push(job.id);
  if (reused.length === ctx.plan.length) return { outcome: 'finished' as const, ran: [], reused };
  await checkSharedFilesystem(ctx.resultsDir, opts.partition);

  const dir = await nextSubmissionDir(ctx.resultsDir);
  const submission: Submission = { experiment: ctx.exp.name, submitted: new Date().toISOString(), backend: ctx.backend, arrays: [] };
  let pretextId: string | null = null;
  for (const { name, jobs } of slurmArrays(ctx.plan)) {
    const indices: number[] = [];
    for (const [i, job] of jobs.entries()) if (job && !(await isDone(ctx.resultsDir, job))) indices.push(i);
    if (indices.length === 0) continue;
    const manifest = join(dir, `${name}.jobs`);
    const script = join(dir, `${name}.sbatch`);
    const log = join('logs', `${name}-%a.out`);
    await writeFileAtomic(manifest, jobs.map((j) => j?.id ?? '').join('\n') + '\n');
    await mkdir(join(dir, 'logs'), { recursive: true });
    await writeFileAtomic(script, batchScript({ ctx, name, indices, manifest, log: join(dir, log), opts }));
    const dependency = name !== 'pretext' && pretextId ? [`--dependency=aftercorr:${pretextId}`, '--kill-on-invalid-dep=yes'] : [];
    const out = slurmCommand('sbatch', ['--parsable', ...dependency, script], `submitting ${relative(process.cwd(), script)}`);
    const slurmJobId = out.trim().split(';')[0];
    if (name === 'pretext') pretextId = slurmJobId;
    submission.arrays.push({ name, slurmJobId, indices, jobs: jobs.map((j) => j?.id ?? ''), script, log });
    // Recorded after every sbatch, so a failure part-way still leaves the submitted arrays to `bench status`.
    await writeJsonAtomic(join(dir, SUBMISSION_FILE), submission);
    process.stdout.write(`submitted ${name}: SLURM job ${slurmJobId}, array ${indices.join(',')}; logs ${join(relative(process.cwd(), dir), log)}\n`);
  }
  const pending = ctx.plan.length - reused.length;
  logLine(`experiment ${ctx.exp.name}: ${pending} job(s) submitted to SLURM (${relative(process.cwd(), dir)}), ${reused.length} already done; follow with \`bench status ${relative(process.cwd(), ctx.exp.file)}\``);
  return { outcome: 'submitted' as const, ran: [], reused };
}

/** Refuses to touch the experiment while an earlier submission still has tasks queued or running. */
async function checkIdle({ resultsDir }: { resultsDir: string }): Promise<void> {
  const submissions = await readSubmissions(resultsDir);
  // Results copied off the cluster: no queue to ask, and no task of it can run here.
  if (submissions.length === 0 || !hasCommand('squeue')) return;
  const ids = submissions.flatMap((s) => s.submission.arrays.map((a) => a.slurmJobId));
  const active = [...squeueStates(ids)].filter(([, state]) => isActive(state)).map(([task]) => task);
  if (active.length > 0) {
    throw new UserError(
      `${resultsDir}: ${active.length} SLURM task(s) of an earlier submission are still queued or running (${active.slice(0, 8).join(', ')}${active.length > 8 ? ', ...' : ''}); ` +
        `wait for them (\`bench status --watch\`) or scancel them, then rerun`,
    );
  }
}

registerExecutor({
  name: 'slurm',
  describe: 'one sbatch job array per stage, chained with aftercorr dependencies; returns after submitting',
  parallel: true,
  options: OPTIONS,
  checkIdle,
  execute,
});
