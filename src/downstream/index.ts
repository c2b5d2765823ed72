/** Downstream tasks by name: a new task is one file plus one line here. */
import type { TaskName } from './config.js';
import { classification } from './classification.js';
import { detection } from './detection.js';
import { inpainting } from './inpainting.js';
import { segmentation } from './segmentation.js';
import type { DownstreamTask } from './types.js';

export const DOWNSTREAM_TASKS: Record<TaskName, DownstreamTask> = {
  classification,
  detection,
  segmentation,
  inpainting,
};

export type { DownstreamJob, DownstreamOutcome, DownstreamTask } from './types.js';
