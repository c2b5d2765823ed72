#!/usr/bin/env node
/** The `bench` command table: parse, then call one function. */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { UserError } from './errors.js';
import { BACKEND_CHOICES, type BackendChoice } from './engine/backend.js';
import { PERF_NETS, type PerfNet } from './perf/options.js';

const backendOption = {
  choices: BACKEND_CHOICES,
  default: 'auto' as BackendChoice,
  describe: 'compute backend: auto takes native TensorFlow when @tensorflow/tfjs-node(-gpu) loads, else wasm',
};

async function main(): Promise<void> {
  await yargs(hideBin(process.argv))
    .scriptName('bench')
    .usage('$0 <command> [options]')
    .command(
      'run <experiment>',
      'run (or reuse) every pretext and downstream job of an experiment; writes results/<name>/',
      (y) =>
        y
          .positional('experiment', { type: 'string', demandOption: true, describe: 'experiment JSON, e.g. experiments/smoke.json' })
          .option('backend', backendOption)
          .option('results', { type: 'string', default: 'results', describe: 'folder that holds results/<experiment>/' })
          .option('wait', { type: 'boolean', default: false, describe: 'when another `bench run` of this experiment holds its lock, wait instead of exiting' }),
      async (argv) => {
        const { runExperiment } = await import('./experiment/run.js');
        await runExperiment(argv.experiment, { backend: argv.backend as BackendChoice, resultsRoot: argv.results, wait: argv.wait });
      },
    )
    .command(
      'synth',
      'write a synthetic dataset in the exact PASCAL VOC layout, deterministic by seed',
      (y) =>
        y
          .option('out', { type: 'string', demandOption: true, describe: 'folder to write (the VOC20xx-like folder)' })
          .option('images', { type: 'number', default: 200, describe: 'number of images' })
          .option('size', { type: 'number', default: 128, describe: 'image side in pixels' })
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
          .option('net', { choices: PERF_NETS, default: 'ce-dcgan' as PerfNet, describe: 'ce-dcgan: semantic-inpainting CE + discriminator; ce-alexnet: feature-learning CE' })
          .option('size', { type: 'number', describe: 'input side in pixels (default 64 for ce-dcgan, 227 for ce-alexnet)' })
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
    .demandCommand(1, 'name a command: run, synth, inpaint, perf, report, check or schema')
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
