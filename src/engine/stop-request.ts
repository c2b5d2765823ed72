/**
 * "Checkpoint now and stop": a request from outside the training loop (SLURM's
 * warning signal before a time limit or preemption) that the running
 * ResumableLoop honours at the end of its current step, by saving its
 * checkpoint whatever `checkpointEvery` says and throwing StoppedForResume.
 */

let requested: string | null = null;

/** Asks the running training loop to checkpoint and stop; `why` names the cause in messages. */
export function requestStop(why: string): void {
  requested ??= why;
}

/** The pending request's cause, or null. */
export function stopRequested(): string | null {
  return requested;
}

/** Thrown by a training loop that checkpointed on request; the job resumes from `file` when rerun. */
export class StoppedForResume extends Error {
  constructor(
    readonly file: string,
    readonly step: number,
    why: string,
  ) {
    super(`${why}: checkpointed at step ${step} in ${file}; rerun the job to resume`);
    this.name = 'StoppedForResume';
  }
}
