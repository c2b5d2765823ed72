/**
 * `npm run bench`: ours (`bench perf`, wasm) against bench/torch_reference.py
 * on the same nets, alternating the two in every round (and which goes first)
 * so that both see the same load from whatever else runs on the machine;
 * prints per net the ratio ours / PyTorch of train_img_s, fwd_img_s and
 * peak_rss_mb as the median over rounds with its min-max spread.
 *
 * Both sides run with the same threads (--threads: ours through BENCH_THREADS,
 * torch through torch.set_num_threads), unless --torch-threads says otherwise.
 *
 *   npm run bench -- [--rounds 3] [--steps 5] [--batch 16] [--threads 1] [--torch-threads N] [--only ce-dcgan-4000,...] [--out FILE]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';

interface Config {
  id: string;
  args: string[];
}

const CONFIGS: Config[] = [
  { id: 'ce-dcgan-4000', args: ['--net', 'ce-dcgan', '--size', '64', '--bottleneck', '4000'] },
  { id: 'ce-dcgan-512', args: ['--net', 'ce-dcgan', '--size', '64', '--bottleneck', '512'] },
  { id: 'ce-alexnet', args: ['--net', 'ce-alexnet', '--size', '227'] },
  { id: 'ce-alexnet-small', args: ['--net', 'ce-alexnet-small', '--size', '32'] },
];

type Line = Record<string, number | string | number[]>;

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

function runJson(cmd: string, args: string[]): Line {
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', maxBuffer: 1 << 24 });
  const line = r.stdout?.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (r.status !== 0 || !line) {
    throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status}${r.signal ? `, ${r.signal}` : ''}):\n${r.stderr?.slice(-2000)}`);
  }
  return JSON.parse(line) as Line;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmt = (xs: number[], digits = 2): string =>
  xs.length === 1 ? xs[0].toFixed(digits) : `${median(xs).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)})`;

async function main(): Promise<void> {
  const a = await yargs(hideBin(process.argv))
    .option('rounds', { type: 'number', default: 3 })
    .option('steps', { type: 'number', default: 5 })
    .option('batch', { type: 'number', default: 16 })
    .option('threads', { type: 'number', default: 1, describe: 'threads of both sides: our wasm backend (BENCH_THREADS) and torch.set_num_threads' })
    .option('torch-threads', { type: 'number', describe: "torch's threads when they should differ from --threads; 0 = torch's default" })
    .option('only', { type: 'string', describe: `comma-separated subset of ${CONFIGS.map((c) => c.id).join(', ')}` })
    .option('python', { type: 'string', default: process.env.PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3') })
    .option('out', { type: 'string', describe: 'also write every measured line and the summary as JSON here' })
    .strict()
    .parseAsync();
  const only = a.only?.split(',');
  const configs = CONFIGS.filter((c) => !only || only.includes(c.id));
  if (configs.length === 0) throw new Error(`--only ${a.only}: no such net; choose from ${CONFIGS.map((c) => c.id).join(', ')}`);
  const common = ['--batch', String(a.batch), '--steps', String(a.steps)];
  const ours = (c: Config): Line => runJson(process.execPath, [join(root, 'bin', 'bench.js'), 'perf', ...c.args, ...common, '--backend', 'wasm', '--threads', String(a.threads)]);
  const torch = (c: Config): Line =>
    runJson(a.python, [join(root, 'bench', 'torch_reference.py'), ...c.args, ...common, '--threads', String(a['torch-threads'] ?? a.threads)]);

  const lines: { round: number; id: string; ours: Line; torch: Line }[] = [];
  for (let round = 1; round <= a.rounds; round++) {
    for (const c of configs) {
      // Alternate which side runs first, so a load change mid-round hits both alike.
      let o: Line;
      let t: Line;
      if (round % 2 === 1) {
        o = ours(c);
        t = torch(c);
      } else {
        t = torch(c);
        o = ours(c);
      }
      lines.push({ round, id: c.id, ours: o, torch: t });
      process.stderr.write(`round ${round} ${c.id}: ours ${o.train_img_s} train / ${o.fwd_img_s} fwd img/s, ${o.peak_rss_mb} MB; `
        + `torch ${t.train_img_s} / ${t.fwd_img_s}, ${t.peak_rss_mb} MB\n`);
      for (const k of ['params_G', 'params_D', 'out_shape'] as const) {
        // out_shape is an array: compared as JSON.
        const [ok, tk] = [JSON.stringify(o[k]), JSON.stringify(t[k])];
        if (ok !== tk) process.stderr.write(`warning: ${c.id}: ${k} differs (ours ${ok}, torch ${tk}): not the same network\n`);
      }
    }
  }

  const summary = configs.map((c) => {
    const rs = lines.filter((l) => l.id === c.id);
    const col = (side: 'ours' | 'torch', k: string): number[] => rs.map((l) => Number(l[side][k]));
    const ratio = (k: string): number[] => rs.map((l) => Number(l.ours[k]) / Number(l.torch[k]));
    return {
      id: c.id,
      ours: { train: col('ours', 'train_img_s'), fwd: col('ours', 'fwd_img_s'), rss: col('ours', 'peak_rss_mb') },
      torch: { train: col('torch', 'train_img_s'), fwd: col('torch', 'fwd_img_s'), rss: col('torch', 'peak_rss_mb') },
      ratio: { train: ratio('train_img_s'), fwd: ratio('fwd_img_s'), rss: ratio('peak_rss_mb') },
    };
  });
  const torchThreads = lines[0]?.torch.threads;
  const ourThreads = lines[0]?.ours.threads;
  const out = [
    `${a.rounds} rounds, batch ${a.batch}, ${a.steps} timed steps; ours: wasm, ${ourThreads} thread(s); torch: ${torchThreads} thread(s); ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GB`,
    'median (min–max) over rounds; ratio = ours / PyTorch, per round',
    '',
    '| net | train img/s ours | torch | ratio | fwd img/s ours | torch | ratio | peak RSS MB ours | torch | ratio |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...summary.map((s) =>
      `| ${s.id} | ${fmt(s.ours.train)} | ${fmt(s.torch.train)} | **${fmt(s.ratio.train)}** | ${fmt(s.ours.fwd)} | ${fmt(s.torch.fwd)} | **${fmt(s.ratio.fwd)}** | ${fmt(s.ours.rss, 0)} | ${fmt(s.torch.rss, 0)} | **${fmt(s.ratio.rss)}** |`),
  ];
  process.stdout.write(`${out.join('\n')}\n`);
  if (a.out) writeFileSync(a.out, `${JSON.stringify({ date: new Date().toISOString(), args: process.argv.slice(2), lines, summary }, null, 2)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
