#!/usr/bin/env node
/** The `bench` command table: parse, then call one function. */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { availableParallelism } from 'node:os';
import { UserError } from './errors.js';
import { BACKEND_CHOICES, type BackendChoice } from './engine/backend.js';
import { PERF_NETS, type PerfNet } from './perf/options.js';
import { EXECUTORS, type ExecutorOption } from './experiment/executors/index.js';
import { MAX_WASM_THREADS, parseThreads, THREADS_ENV } from './engine/wasm-threads.js';

const backendOption = {
  choices: BACKEND_CHOICES,
  default: 'auto' as BackendChoice,
  describe: 'compute backend: auto takes native TensorFlow when @tensorflow/tfjs-node(-gpu) loads, else wasm',
};

/** Every executor's own options, named by the executor in their help. */
function executorOptions(): Record<string, ExecutorOption> {
  return Object.fromEntries(EXECUTORS.all().flatMap((e) => Object.entries(e.options ?? {})));
}

/** --jobs: a whole number of at least 1, or auto (the cores this process may use). */
function parseJobs(value: string): number {
  if (value === 'auto') return availableParallelism();
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UserError(`--jobs ${value}: use a whole number of at least 1, or auto`);
  return n;
}

async function main(): Promise<void> {
  await yargs(hideBin(process.argv))
    .scriptName('bench')
    .usage('$0 <command> [options]')
    .option('threads', {
      type: 'string',
      global: true,
      describe: `threads of the wasm backend, 1-${MAX_WASM_THREADS} (default: the cores this process may use, shared out between --jobs workers; not part of any job key)`,
    })
    .middleware((argv) => {
      // Through the environment, so pool workers and SLURM tasks started from here inherit it.
      if (argv.threads !== undefined) process.env[THREADS_ENV] = String(parseThreads(String(argv.threads), '--threads'));
    })
    .command(
      'run <experiment>',
      'run (or reuse) every pretext and downstream job of an experiment; writes results/<name>/',
      (y) =>
        y
          .positional('experiment', { type: 'string', demandOption: true, describe: 'experiment JSON, e.g. experiments/smoke.json' })
          .option('backend', backendOption)
          .option('results', { type: 'string', default: 'results', describe: 'folder that holds results/<experiment>/' })
          .option('wait', { type: 'boolean', default: false, describe: 'when another `bench run` of this experiment holds its lock, wait instead of exiting' })
          .option('jobs', { type: 'string', default: '1', describe: 'worker processes: a number, or auto for one per core (uses the pool executor)' })
          .option('executor', { choices: EXECUTORS.names(), describe: EXECUTORS.all().map((e) => `${e.name}: ${e.describe}`).join('; ') })
          .option('dry-run', { type: 'boolean', default: false, describe: 'print every job with its estimated time, peak memory and disk, and the total; write nothing' })
          .options(executorOptions()),
      async (argv) => {
        if (argv.dryRun) {
          const { dryRunCommand } = await import('./experiment/dry-run.js');
          await dryRunCommand(argv.experiment as string, argv.backend as BackendChoice);
          return;
        }
        const { runExperiment } = await import('./experiment/run.js');
        const summary = await runExperiment(argv.experiment as string, {
          backend: argv.backend as BackendChoice,
          resultsRoot: argv.results as string,
          wait: argv.wait as boolean,
          jobs: parseJobs(argv.jobs as string),
          executor: argv.executor as string | undefined,
          executorOptions: argv,
        });
        if (summary.outcome === 'submitted') process.stderr.write(`follow the sweep with: bench status ${String(argv.experiment)}${argv.results === 'results' ? '' : ` --results ${String(argv.results)}`} [--watch]\n`);
      },
    )
    .command(
      'job <experiment> <job>',
      'run exactly one planned job of an experiment (what `bench run --jobs N` workers and SLURM array tasks run); SIGUSR2 checkpoints and stops it (exit 3)',
      (y) =>
        y
          .positional('experiment', { type: 'string', demandOption: true })
          .positional('job', { type: 'string', demandOption: true, describe: "the job's id (its folder, as in results/<name>/plan.json) or hash" })
          .option('backend', backendOption)
          .option('results', { type: 'string', default: 'results' }),
      async (argv) => {
        const { runSingleJob } = await import('./experiment/single-job.js');
        process.exitCode = await runSingleJob(argv.experiment, argv.job, { backend: argv.backend as BackendChoice, resultsRoot: argv.results });
      },
    )
    .command(
      'status <experiment>',
      "every job of the experiment's last run: done, running, pending, failed or not submitted, with its SLURM id and log",
      (y) =>
        y
          .positional('experiment', { type: 'string', demandOption: true })
          .option('results', { type: 'string', default: 'results' })
          .option('watch', { type: 'boolean', default: false, describe: 'poll (backing off up to 60 s) until nothing is pending or running; exit 1 if a job failed' }),
      async (argv) => {
        const { runStatus } = await import('./experiment/status.js');
        process.exitCode = await runStatus(argv.experiment, { resultsRoot: argv.results, watch: argv.watch });
      },
    )
    .command(
      'synth',
      'write a synthetic dataset in the exact PASCAL VOC layout, deterministic by seed',
      (y) =>
        y
          .option('out', { type: 'string', demandOption: true, describe: 'folder to write (the VOC20xx-like folder)' })
          .option('images', { type: 'number', default: 200, describe: 'number of images' })
          .option('size', { type: 'number', describe: 'square images of this side in pixels (instead of --min-side/--max-side)' })
          .option('min-side', { type: 'number', describe: 'shorter side drawn from min-side..max-side (default 300)' })
          .option('max-side', { type: 'number', describe: 'longer side of every image (default 500), landscape or portrait' })
          .option('seed', { type: 'number', default: 1, describe: 'random seed' })
          .option('classes', { type: 'number', default: 20, describe: 'use the first N of the 20 VOC classes' }),
      async (argv) => {
        const { synthCommand } = await import('./commands/synth.js');
        await synthCommand(argv);
      },
    )
    .command(
      'inpaint',
      'fill the hole of one image with a trained generator and print L1, L2 and PSNR over the hole',
      (y) =>
        y
          .option('checkpoint', { type: 'string', demandOption: true, describe: 'a pretext job folder, or its generator/ folder' })
          .option('image', { type: 'string', demandOption: true, describe: 'input image (jpg or png, any size)' })
          .option('out', { type: 'string', demandOption: true, describe: 'output PNG: masked input | prediction | original' })
          .option('mask', { choices: ['center', 'random-block', 'random-region'] as const, default: 'center' as const })
          .option('seed', { type: 'number', default: 1, describe: 'seed for random masks' })
          .option('backend', backendOption),
      async (argv) => {
        const { inpaintCommand } = await import('./commands/inpaint.js');
        await inpaintCommand({ ...argv, backend: argv.backend as BackendChoice });
      },
    )
    .command(
      'perf',
      'time training steps and forward passes of a benchmark net on random data; prints one JSON line (npm run bench compares with PyTorch)',
      (y) =>
        y
          .option('net', { choices: PERF_NETS, default: 'ce-dcgan' as PerfNet, describe: 'ce-dcgan: semantic-inpainting CE + discriminator; ce-alexnet: feature-learning CE; ce-alexnet-small: the CIFAR-10 context encoder (experiments/cifar10.json)' })
          .option('size', { type: 'number', describe: 'input side in pixels (default 64 for ce-dcgan, 227 for ce-alexnet, 32 for ce-alexnet-small)' })
          .option('batch', { type: 'number', default: 16 })
          .option('bottleneck', { type: 'number', default: 4000, describe: 'ce-dcgan bottleneck channels' })
          .option('steps', { type: 'number', default: 5, describe: 'timed steps after one warm-up step' })
          .option('backend', { ...backendOption, default: 'wasm' as BackendChoice })
          .option('kernels', { choices: ['fast', 'stock'] as const, default: 'fast' as const, describe: "stock: tfjs-backend-wasm's own gradient kernels" })
          .option('profile', { type: 'boolean', default: false, describe: 'print a per-kernel profile of one step to stderr' }),
      async (argv) => {
        const { perfCommand } = await import('./perf/run.js');
        await perfCommand({ ...argv, net: argv.net as PerfNet, backend: argv.backend as BackendChoice });
      },
    )
    .command(
      'report <experiment>',
      'regenerate reports/<name>/ (tables, charts, samples, HTML) from results/<name>/ alone',
      (y) =>
        y
          .positional('experiment', { type: 'string', demandOption: true })
          .option('results', { type: 'string', default: 'results' })
          .option('reports', { type: 'string', default: 'reports' }),
      async (argv) => {
        const { runReport } = await import('./report/index.js');
        await runReport(argv.experiment, { resultsRoot: argv.results, reportsRoot: argv.reports });
      },
    )
    .command(
      'check <experiment>',
      'compare the latest results with a baseline; exit 1 listing every regression',
      (y) =>
        y
          .positional('experiment', { type: 'string', demandOption: true })
          .option('baseline', { type: 'string', demandOption: true, describe: 'baseline JSON, e.g. experiments/baselines/smoke.json' })
          .option('update', { type: 'boolean', default: false, describe: 'write a new baseline from the current results instead' })
          .option('results', { type: 'string', default: 'results' }),
      async (argv) => {
        const { runCheck } = await import('./report/index.js');
        const ok = await runCheck(argv.experiment, { baseline: argv.baseline, update: argv.update, resultsRoot: argv.results });
        if (!ok) process.exitCode = 1;
      },
    )
    .command(
      'schema',
      'print the experiment JSON Schema, built from the registered pretext methods, tasks, protocols, dataset formats and encoders (npm run schema writes it to src/experiment/schema.json for editors)',
      (y) => y,
      async () => {
        const { buildExperimentSchema } = await import('./experiment/schema.js');
        process.stdout.write(`${JSON.stringify(buildExperimentSchema(), null, 2)}\n`);
      },
    )
    .demandCommand(1, 'name a command: run, job, status, synth, inpaint, perf, report, check or schema')
    .strict()
    .fail((msg, err) => {
      if (err) throw err;
      throw new UserError(msg);
    })
    .help()
    .parseAsync();
}

main().catch((err: unknown) => {
  if (err instanceof UserError) {
    process.stderr.write(`error: ${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
