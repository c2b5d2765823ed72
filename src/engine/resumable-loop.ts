/**
 * What every training loop of the harness does around its steps, pretext and
 * downstream alike: resume from its job's checkpoint (refusing another job's),
 * stop on a non-finite loss or weight naming the step and the checkpoint
 * kept, and save a checkpoint every `checkpointEvery` steps. The loop keeps
 * its own step code; this owns only the bookkeeping around it.
 */
import { UserError } from '../errors.js';
import { logLine, Progress } from './log.js';
import { StoppedForResume, stopRequested } from './stop-request.js';
import { loadTrainingState, nonFiniteWeight, saveTrainingState, type TrainingParts } from './train-state.js';

/** Where a job checkpoints; `key` is the job's hash, so another config's checkpoint is never resumed. */
export interface ResumeTarget {
  file: string;
  key: string;
}

/** A random stream or sampler whose position a checkpoint carries (Rng, EpochSampler). */
export interface Stateful<S = unknown> {
  getState(): S;
  setState(state: S): void;
}

export interface ResumableLoopOptions {
  /** Names the job in messages, e.g. "pretext context-encoder". */
  label: string;
  resume: ResumeTarget | undefined;
  checkpointEvery: number;
  /** Steps are numbered 1..steps. */
  steps: number;
  /** Quoted in the advice of a diverging-loss error. */
  lr: number;
  parts: TrainingParts;
  /** Saved and restored by name, in the checkpoint's JSON beside `key` and `step`. */
  streams: Record<string, Stateful>;
  /** Images one step trains on, for the progress line's img/s. */
  imagesPerStep: number;
  /** Steps between plain progress lines (besides one at least every 30 s); default a tenth of the run. */
  logEvery?: number;
}

/** The JSON of a checkpoint: these fields, the streams by name, and whatever else the loop saved. */
interface LoopState {
  key: string;
  step: number;
  trainSeconds: number;
  [field: string]: unknown;
}

export class ResumableLoop {
  /** The first step this process runs (1 unless resumed). */
  readonly firstStep: number;
  private readonly started = performance.now();
  private readonly progress: Progress;

  private constructor(
    private readonly opts: ResumableLoopOptions,
    private readonly priorSeconds: number,
    private savedStep: number,
  ) {
    this.firstStep = savedStep + 1;
    this.progress = new Progress(opts.label, opts.steps, opts.logEvery ?? Math.max(1, Math.ceil(opts.steps / 10)), { startStep: savedStep });
  }

  /**
   * Restores the job's checkpoint into `parts` and the streams when there is
   * one, and returns the loop with the rest of the checkpoint's JSON (the
   * loop's own fields), or null when starting from step 1. Call it right
   * before the first step: the timer starts here.
   */
  static async start(opts: ResumableLoopOptions): Promise<{ loop: ResumableLoop; saved: Record<string, unknown> | null }> {
    const { resume } = opts;
    if (!resume) return { loop: new ResumableLoop(opts, 0, 0), saved: null };
    const state = (await loadTrainingState(resume.file, opts.parts, (extra) => {
      const key = (extra as Partial<LoopState> | null)?.key;
      if (key !== resume.key) {
        throw new UserError(`${resume.file}: training checkpoint of job ${String(key)}, not of this job (${resume.key}); delete it to restart this job from step 0`);
      }
      for (const name of Object.keys(opts.streams)) {
        if (!(name in (extra as object))) {
          throw new UserError(`${resume.file}: training checkpoint is for a different training loop (it has no ${name} state); delete it to restart this job from step 0`);
        }
      }
    })) as LoopState | null;
    if (!state) return { loop: new ResumableLoop(opts, 0, 0), saved: null };
    for (const [name, stream] of Object.entries(opts.streams)) stream.setState(state[name]);
    const loop = new ResumableLoop(opts, state.trainSeconds, state.step);
    logLine(`${opts.label}: resuming at step ${loop.firstStep} of ${opts.steps} from ${resume.file}`);
    return { loop, saved: state };
  }

  /** Training seconds of the job so far, across resumes. */
  seconds(): number {
    return this.priorSeconds + this.sessionSeconds();
  }

  /** Training seconds of this process alone (for a throughput over the steps it ran). */
  sessionSeconds(): number {
    return (performance.now() - this.started) / 1000;
  }

  /**
   * After each step: stops on a non-finite loss, or a non-finite weight at a
   * checkpoint step and at the last step (a finite loss can still leave them
   * after its update, so they are never saved or kept), and saves a
   * checkpoint every `checkpointEvery` steps before the last. `extra` gives
   * the loop's own JSON fields to save. After a stop request (see
   * stop-request.ts) it checkpoints at once and throws StoppedForResume.
   */
  async endStep(step: number, loss: number, extra: () => Record<string, unknown> = () => ({})): Promise<void> {
    const { resume, checkpointEvery, steps, parts, streams } = this.opts;
    if (!Number.isFinite(loss)) {
      this.progress.stop();
      throw this.stop(`loss became ${loss}`, step);
    }
    const imgPerSec = ((step - this.firstStep + 1) * this.opts.imagesPerStep) / this.sessionSeconds();
    this.progress.update(step, `loss ${loss.toPrecision(4)} ${imgPerSec.toFixed(1)} img/s`);
    if (step === steps) this.progress.stop();
    const stopWhy = step < steps ? stopRequested() : null;
    const checkpointNow = resume !== undefined && (step % checkpointEvery === 0 || stopWhy !== null) && step < steps;
    const bad = checkpointNow || step === steps ? nonFiniteWeight(parts) : null;
    if (bad) throw this.stop(`weight ${bad} became NaN or Infinity`, step);
    if (resume && checkpointNow) {
      const state: LoopState = { key: resume.key, step, trainSeconds: this.seconds(), ...extra() };
      for (const [name, stream] of Object.entries(streams)) state[name] = stream.getState();
      await saveTrainingState(resume.file, parts, state);
      this.savedStep = step;
      if (stopWhy !== null) throw new StoppedForResume(resume.file, step, stopWhy);
    }
  }

  private stop(what: string, step: number): UserError {
    const { label, resume, lr } = this.opts;
    const kept = resume && this.savedStep > 0 ? `the last good checkpoint (step ${this.savedStep}) stays in ${resume.file}` : 'no checkpoint was written';
    return new UserError(`${label}: ${what} at step ${step}; ${kept}; lower lr (${lr}) and rerun`);
  }
}
