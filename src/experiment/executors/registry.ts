/**
 * What an executor declares when it registers (see index.ts, which lists the
 * executors): its name, whether it runs jobs in parallel, its own
 * command-line options, and how it gets a plan's unfinished jobs done.
 */
import { Registry } from '../../registry/registry.js';
import type { JobContext } from '../job.js';
import type { PlannedJob } from '../plan.js';
import type { Experiment } from '../types.js';

/**
 * A command-line option an executor adds to `bench run` (a subset of yargs'
 * option shape). No default here: unset means not given, so an option of
 * another executor than the one chosen is refused instead of ignored.
 */
export interface ExecutorOption {
  type: 'string' | 'number';
  describe: string;
}

export interface ExecutionContext {
  exp: Experiment;
  plan: PlannedJob[];
  /** Folder holding every experiment's results. */
  resultsRoot: string;
  /** results/<experiment>/, locked by this run. */
  resultsDir: string;
  /** The backend the plan was made for (its name is part of every job key). */
  backend: string;
  /** --jobs: worker processes. */
  jobs: number;
  /** Values of the executor's own options, by name. */
  options: Record<string, unknown>;
  /**
   * Runs one job in this process (../job.ts), passed in rather than imported
   * so that reading this registry (the CLI does, for its flags) loads no
   * training code.
   */
  executeJob: (job: PlannedJob, ctx: JobContext) => Promise<{ ran: boolean }>;
}

export interface Execution {
  /** 'finished': every job is done; 'submitted': handed to a scheduler, done later. */
  outcome: 'finished' | 'submitted';
  ran: string[];
  reused: string[];
}

export interface ExecutorSpec {
  name: string;
  describe: string;
  /** Whether it runs several jobs at once (accepts --jobs > 1). */
  parallel: boolean;
  options?: Record<string, ExecutorOption>;
  /**
   * Throws a UserError when jobs of this experiment are still queued or
   * running under this executor (before the run touches temporary files).
   */
  checkIdle?(ctx: { exp: Experiment; resultsDir: string }): Promise<void>;
  execute(ctx: ExecutionContext): Promise<Execution>;
}

export const EXECUTORS = new Registry<ExecutorSpec>('executor', 'src/experiment/executors/index.ts');

export function registerExecutor(spec: ExecutorSpec): ExecutorSpec {
  return EXECUTORS.register(spec);
}
