/** Shared by the executor tests: a tiny synthetic experiment, the built CLI, and results.csv without its timings. */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse } from 'csv-parse/sync';

export const cli = resolve('dist/src/cli.js');

export function bench(args: string[], cwd: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `bench ...` in the background; resolves with its exit code and output. */
export function benchAsync(args: string[], cwd: string): { pid: number; done: Promise<{ status: number | null; stderr: string }> } {
  const child = spawn(process.execPath, [cli, ...args], { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  return { pid: child.pid!, done: new Promise((done) => child.on('close', (status) => done({ status, stderr }))) };
}

/**
 * A context encoder long enough to be caught mid-training (checkpoint every
 * 20 of `steps`), the random baseline, classification and inpainting on each.
 */
export function tinyExperiment(name: string, root: string, steps = 40): object {
  return {
    name,
    seeds: [4],
    datasets: { synth: { format: 'voc', root: join(root, 'voc') } },
    model: { inputSize: 67, widthMultiplier: 0.125 },
    pretext: [
      { method: 'context-encoder', steps, batchSize: 4, heldoutImages: 4, checkpointEvery: 20, logEvery: 20 },
      { method: 'random', heldoutImages: 4 },
    ],
    downstream: [
      { task: 'classification', steps: 10, batchSize: 8, headWidths: [16, 16], maxTestImages: 8, checkpointEvery: 5 },
      { task: 'inpainting', maxTestImages: 4, samples: 1 },
    ],
  };
}

/** results.csv rows without what depends on timing (wall_s, img_per_s and the train_seconds metric). */
export async function resultNumbers(csvPath: string): Promise<Record<string, string>[]> {
  const rows = parse(await readFile(csvPath, 'utf8'), { columns: true }) as Record<string, string>[];
  return rows
    .filter((r) => r.metric !== 'train_seconds')
    .map(({ wall_s: _wall, img_per_s: _ips, ...rest }) => rest);
}

/** Polls until a pretext checkpoint (state.bin) exists under `resultsDir`; returns its path. */
export async function waitForCheckpoint(resultsDir: string, timeoutMs = 180_000): Promise<string> {
  const until = Date.now() + timeoutMs;
  const dir = join(resultsDir, 'pretext');
  for (;;) {
    const partial = existsSync(dir) ? (await readdir(dir)).find((d) => d.endsWith('.partial')) : undefined;
    if (partial && existsSync(join(dir, partial, 'state.bin'))) return join(dir, partial, 'state.bin');
    if (Date.now() > until) throw new Error(`no checkpoint appeared in ${dir}`);
    await sleep(50);
  }
}
