/**
 * What SLURM says about a sweep's array tasks: `squeue` (every state while a
 * job is known to the controller, MinJobAge after it ends) and `sacct` when
 * accounting is on (the record after that). Plain child processes: the
 * commands are SLURM's interface, and a missing one is a user error.
 */
import { spawnSync } from 'node:child_process';
import { UserError } from '../../errors.js';

/** A SLURM command's stdout; a UserError naming it when it cannot run or fails. */
export function slurmCommand(command: string, args: string[], why: string): string {
  const r = spawnSync(command, args, { encoding: 'utf8' });
  if (r.error) {
    const missing = (r.error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new UserError(
      missing
        ? `${why}: ${command} not found on PATH; run this on a node with the SLURM client commands (or start a one-node cluster with scripts/slurm-local.sh start)`
        : `${why}: ${command} failed to start (${r.error.message})`,
    );
  }
  if (r.status !== 0) throw new UserError(`${why}: ${command} ${args.join(' ')} failed: ${(r.stderr || r.stdout).trim().split('\n')[0]}`);
  return r.stdout;
}

/** Whether `command` is on PATH (runs it with --version). */
export function hasCommand(command: string): boolean {
  return !spawnSync(command, ['--version'], { stdio: 'ignore' }).error;
}

/** SLURM's state of an array task, by "<array job id>_<task id>". */
export type TaskStates = Map<string, string>;

/** SLURM states in which a task may still run (or run again). */
const ACTIVE = new Set(['PENDING', 'RUNNING', 'REQUEUED', 'REQUEUE_HOLD', 'REQUEUE_FED', 'CONFIGURING', 'COMPLETING', 'SUSPENDED', 'RESIZING', 'SIGNALING', 'STAGE_OUT', 'RESV_DEL_HOLD']);

export function isActive(state: string | undefined): boolean {
  return state !== undefined && ACTIVE.has(state);
}

/** States of the tasks of `arrayIds` that squeue still knows (array tasks one per line). */
export function squeueStates(arrayIds: string[]): TaskStates {
  const states: TaskStates = new Map();
  if (arrayIds.length === 0) return states;
  const wanted = new Set(arrayIds);
  // Every job of the queue, filtered here: `squeue -j` fails outright on an id the controller has forgotten.
  const out = slurmCommand('squeue', ['--noheader', '--array', '--states=all', '--format=%F|%K|%T'], 'reading the SLURM queue');
  for (const line of out.split('\n')) {
    const [arrayId, taskId, state] = line.trim().split('|');
    if (wanted.has(arrayId) && /^\d+$/.test(taskId ?? '')) states.set(`${arrayId}_${taskId}`, state);
  }
  return states;
}

/**
 * States from the accounting database, or null when accounting is off (sacct
 * then fails; the queue alone is all there is).
 */
export function sacctStates(arrayIds: string[]): TaskStates | null {
  if (arrayIds.length === 0) return new Map();
  const r = spawnSync('sacct', ['--noheader', '--parsable2', '--allocations', '--jobs', arrayIds.join(','), '--format=JobID,State'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return null;
  const states: TaskStates = new Map();
  for (const line of r.stdout.split('\n')) {
    const [jobId, state] = line.trim().split('|');
    // "CANCELLED by 0" -> CANCELLED
    if (/^\d+_\d+$/.test(jobId ?? '')) states.set(jobId, state.split(' ')[0]);
  }
  return states;
}
