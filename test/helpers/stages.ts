/** Runs one pretext method or downstream task the way `bench run` does (dataset opened through its format, protocol and layer from the registries). */
import { openDataset } from '../../src/data/formats/index.js';
import { DOWNSTREAM_TASKS, PROTOCOLS, type DownstreamJob, type DownstreamOutcome } from '../../src/downstream/index.js';
import { expandEntry } from '../../src/experiment/plan.js';
import { PRETEXT_METHODS, type PretextJob, type PretextOutcome } from '../../src/pretext/index.js';

export async function trainPretext(job: PretextJob): Promise<PretextOutcome> {
  return PRETEXT_METHODS.get(job.config.method).train(job, { dataset: await openDataset(job.dataset) });
}

/** `layer` defaults to the one the plan gives the entry (its first, for an entry with several). */
export async function runTask(job: Omit<DownstreamJob, 'layer'> & { layer?: DownstreamJob['layer'] }): Promise<DownstreamOutcome> {
  const layer = job.layer !== undefined ? job.layer : expandEntry(job.config, 0)[0].layer;
  return DOWNSTREAM_TASKS.get(job.config.task).run(
    { ...job, layer },
    { dataset: await openDataset(job.dataset), protocol: job.protocol === null ? null : PROTOCOLS.get(job.protocol) },
  );
}
