/**
 * Progress output: a bar on a TTY; otherwise (CI, nohup, a cluster's log
 * file) a plain line every N steps and at least every 30 s, so a slow job
 * shows it is alive. Everything goes to stderr; stdout carries results.
 */
import cliProgress from 'cli-progress';

export function logLine(message: string): void {
  process.stderr.write(`${message}\n`);
}

/** The longest a non-TTY run stays silent while training. */
export const PLAIN_INTERVAL_MS = 30_000;

export interface ProgressOptions {
  /** Steps already done before this process (a resumed job), so the ETA counts only this run's pace. */
  startStep?: number;
  intervalMs?: number;
  /** Defaults to whether stderr is a terminal. */
  tty?: boolean;
  write?: (line: string) => void;
}

/** Seconds as "1h02m", "3m05s" or "42s". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (h > 0) return `${h}h${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${s}s`;
}

export class Progress {
  private bar: cliProgress.SingleBar | null = null;
  private readonly started = performance.now();
  private lastLine = performance.now();
  private readonly startStep: number;
  private readonly intervalMs: number;
  private readonly write: (line: string) => void;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly plainEvery: number,
    opts: ProgressOptions = {},
  ) {
    this.startStep = opts.startStep ?? 0;
    this.intervalMs = opts.intervalMs ?? PLAIN_INTERVAL_MS;
    this.write = opts.write ?? logLine;
    if ((opts.tty ?? process.stderr.isTTY) && total > 0) {
      this.bar = new cliProgress.SingleBar(
        { format: `${label} [{bar}] {value}/{total} {status}`, stream: process.stderr, hideCursor: true },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(total, this.startStep, { status: '' });
    }
  }

  update(step: number, status: string): void {
    if (this.bar) {
      this.bar.update(step, { status });
      return;
    }
    const now = performance.now();
    if (step % this.plainEvery !== 0 && step !== this.total && now - this.lastLine < this.intervalMs) return;
    this.lastLine = now;
    const done = step - this.startStep;
    const eta = done > 0 && step < this.total ? ` ETA ${formatDuration((((now - this.started) / 1000) * (this.total - step)) / done)}` : '';
    this.write(`${this.label} ${step}/${this.total}${status ? ` ${status}` : ''}${eta}`);
  }

  stop(): void {
    this.bar?.stop();
  }
}
