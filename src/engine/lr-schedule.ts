/**
 * Step learning-rate schedules, as Caffe's `lr_policy: "step"` (the solver of
 * Krähenbühl et al.'s VOC classification code): the rate is multiplied by
 * `gamma` every `every` steps. Caffe counts iterations from 0 and our loops
 * number steps from 1, so step t trains at base * gamma^floor((t - 1) / every):
 * steps 1..every at the base rate, every+1..2*every at base * gamma, and so on.
 *
 * The rate is a pure function of the step, so a resumed run needs no saved
 * schedule state: it recomputes the rate of the step it resumes at.
 */

export interface StepSchedule {
  /** Steps between two multiplications; absent: the rate stays constant. */
  every?: number;
  /** Factor applied every `every` steps. */
  gamma?: number;
}

/** The rate of step `step` (1-based). */
export function scheduledLr(base: number, step: number, schedule: StepSchedule): number {
  if (schedule.every === undefined || schedule.gamma === undefined) return base;
  return base * schedule.gamma ** Math.floor((step - 1) / schedule.every);
}
