/**
 * Progress output: a bar on a TTY, a plain line every N steps otherwise, so
 * CI logs stay readable. Everything goes to stderr; stdout carries results.
 */
import cliProgress from 'cli-progress';

export function logLine(message: string): void {
  process.stderr.write(`${message}\n`);
}

export class Progress {
  private bar: cliProgress.SingleBar | null = null;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly plainEvery: number,
  ) {
    if (process.stderr.isTTY && total > 0) {
      this.bar = new cliProgress.SingleBar(
        { format: `${label} [{bar}] {value}/{total} {status}`, stream: process.stderr, hideCursor: true },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(total, 0, { status: '' });
    }
  }

  update(step: number, status: string): void {
    if (this.bar) this.bar.update(step, { status });
    else if (step % this.plainEvery === 0 || step === this.total) logLine(`${this.label} ${step}/${this.total} ${status}`);
  }

  stop(): void {
    this.bar?.stop();
  }
}
