/** The default executor: every job in this process, one after another, in plan order. */
import { describeJob } from '../job-files.js';
import { registerExecutor } from './registry.js';

registerExecutor({
  name: 'local',
  describe: 'every job in this process, one after another',
  parallel: false,
  async execute({ plan, resultsRoot, resultsDir, backend, executeJob }) {
    const ran: string[] = [];
    const reused: string[] = [];
    for (const [index, job] of plan.entries()) {
      const label = `[${index + 1}/${plan.length}] ${describeJob(job)}`;
      const outcome = await executeJob(job, { resultsRoot, resultsDir, backend, label });
      (outcome.ran ? ran : reused).push(job.id);
    }
    return { outcome: 'finished', ran, reused };
  },
});
