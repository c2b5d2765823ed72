/**
 * A small results/<experiment>/ folder written the way the runner writes it
 * (plan.json, per-job config.json, metrics.json, log.csv, sample PNGs,
 * results.csv), with hand-picked numbers so tests can check formatting and
 * checks by hand. Three methods, three seeds; the autoencoder has no
 * segmentation job (an empty cell), only the context encoder has inpainting.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createCanvas } from '@napi-rs/canvas';
import { stringify } from 'csv-stringify/sync';

export const SEEDS = [1, 2, 3];
export const CLASSES = ['aeroplane', 'bicycle', 'bird'];

/** value per seed index, by method, task, metric */
export const VALUES: Record<string, Record<string, Record<string, number[]>>> = {
  random: {
    pretext: { train_seconds: [0.01, 0.01, 0.01] },
    classification: { mAP: [0.4, 0.41, 0.42] },
    detection: { mAP: [0.25, 0.26, 0.27] },
    segmentation: { meanIU: [0.15, 0.155, 0.16], pixelAcc: [0.6, 0.61, 0.62] },
  },
  autoencoder: {
    pretext: { train_seconds: [40, 42, 44], final_loss: [0.05, 0.052, 0.054], heldout_masked_l2: [0.06, 0.061, 0.062] },
    classification: { mAP: [0.45, 0.46, 0.47] },
    detection: { mAP: [0.28, 0.285, 0.29] },
  },
  'context-encoder': {
    pretext: { train_seconds: [190, 200, 210], final_loss: [0.03, 0.031, 0.032], heldout_masked_l2: [0.04, 0.041, 0.042] },
    classification: { mAP: [0.5, 0.52, 0.54] },
    detection: { mAP: [0.3, 0.31, 0.32] },
    segmentation: { meanIU: [0.2, 0.21, 0.22], pixelAcc: [0.65, 0.66, 0.67] },
    inpainting: {
      l1: [0.1, 0.11, 0.12],
      l2: [0.02, 0.021, 0.022],
      psnr: [17, 17.5, 18],
      baseline_l1: [0.2, 0.2, 0.2],
      baseline_l2: [0.06, 0.061, 0.062],
      baseline_psnr: [12.2, 12.1, 12.0],
    },
  },
};

export interface FixtureOptions {
  experiment?: string;
  /** Change a value before it is written: (method, task, metric, seed, value) -> value. */
  adjust?: (method: string, task: string, metric: string, seed: number, value: number) => number;
}

function samplePng(r: number, g: number, b: number): Uint8Array {
  const canvas = createCanvas(32, 32);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = `rgb(${r},${g},${b})`;
  ctx.fillRect(0, 0, 32, 32);
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(8, 8, 16, 16);
  return canvas.toBuffer('image/png');
}

export async function writeFixture(resultsRoot: string, opts: FixtureOptions = {}): Promise<string> {
  const experiment = opts.experiment ?? 'fixture';
  const root = join(resultsRoot, experiment);
  const adjust = opts.adjust ?? ((_m, _t, _k, _s, v) => v);
  const csvRows: (string | number)[][] = [];
  const jobs: Record<string, unknown>[] = [];
  for (const [method, tasks] of Object.entries(VALUES)) {
    for (const [task, metrics] of Object.entries(tasks)) {
      SEEDS.forEach((seed, i) => {
        const stage = task === 'pretext' ? 'pretext' : 'downstream';
        const protocol = stage === 'pretext' ? '' : 'finetune';
        const id = `${method}-${task}-s${seed}`;
        const summary: Record<string, number> = {};
        for (const [metric, values] of Object.entries(metrics)) {
          summary[metric] = adjust(method, task, metric, seed, values[i]);
          csvRows.push([experiment, method, task, protocol, seed, metric, summary[metric], 'wasm', 1.5, 10, id]);
        }
        jobs.push({ id, stage, method, task: stage === 'pretext' ? undefined : task, protocol: protocol || undefined, seed, dir: `jobs/${id}`, summary });
      });
    }
  }
  for (const job of jobs) {
    const dir = join(root, job.dir as string);
    await mkdir(dir, { recursive: true });
    const metrics: Record<string, unknown> = { ...job, backend: 'wasm', wallSeconds: 1.5, imgPerSec: 10 };
    delete metrics.dir;
    const seedIndex = SEEDS.indexOf(job.seed as number);
    if (job.task === 'classification') {
      const base = (job.summary as Record<string, number>).mAP;
      metrics.perClass = { AP: Object.fromEntries(CLASSES.map((c, k) => [c, base + 0.05 * (k - 1)])) };
    }
    if (job.task === 'segmentation') {
      const base = (job.summary as Record<string, number>).meanIU;
      metrics.perClass = { IoU: { background: base + 0.3, aeroplane: base, bird: base / 2 } };
    }
    if (job.task === 'inpainting') {
      const samples: string[] = [];
      for (let k = 0; k < 2; k++) {
        for (const [role, rgb] of [
          ['input', [120, 110, 120]],
          ['pred', [40, 90 + 40 * seedIndex, 160]],
          ['truth', [30, 100, 170]],
        ] as const) {
          const file = `samples/sample-${k}-${role}.png`;
          await mkdir(join(dir, 'samples'), { recursive: true });
          await writeFile(join(dir, file), samplePng(rgb[0], rgb[1] + 20 * k, rgb[2]));
          samples.push(file);
        }
      }
      metrics.samples = samples;
    }
    await writeFile(join(dir, 'metrics.json'), JSON.stringify(metrics, null, 2));
    await writeFile(join(dir, 'config.json'), JSON.stringify({ seed: job.seed, dataset: { format: 'voc', root: 'voc' }, backend: 'wasm' }));
    if (job.stage === 'pretext' && job.method !== 'random') {
      const scale = job.method === 'context-encoder' ? 0.6 : 1;
      const lines = ['step,loss,loss_rec,loss_adv,loss_d,img_per_s,elapsed_s'];
      for (let step = 0; step <= 100; step += 10) {
        const loss = scale * (0.3 * Math.exp(-step / 30) + 0.04) + 0.002 * seedIndex;
        lines.push(`${step},${loss},${loss},,,12.5,${step / 10}`);
      }
      await writeFile(join(dir, 'log.csv'), lines.join('\n') + '\n');
    }
  }
  await writeFile(
    join(root, 'plan.json'),
    JSON.stringify({ experiment, jobs: jobs.map(({ summary: _summary, ...rest }) => rest) }, null, 2),
  );
  await writeFile(
    join(root, 'results.csv'),
    stringify(csvRows, { header: true, columns: ['experiment', 'method', 'task', 'protocol', 'seed', 'metric', 'value', 'backend', 'wall_s', 'img_per_s', 'job'] }),
  );
  return root;
}
