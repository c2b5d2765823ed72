/**
 * One `bench run` per results folder at a time. The lock file is created
 * whole (written under a temporary name, then hard-linked into place, which
 * fails if the name exists), names its holder, and is removed on exit, on an
 * error and on SIGINT/SIGTERM. A lock whose process is gone (kill -9, a
 * crash) is taken over.
 */
import { link, mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { readFileSync, unlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { UserError } from '../errors.js';
import { logLine } from '../engine/log.js';

export const LOCK_FILE = 'run.lock';

export interface LockHolder {
  pid: number;
  hostname: string;
  started: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readHolder(path: string): Promise<LockHolder | null> {
  try {
    const holder = JSON.parse(await readFile(path, 'utf8')) as LockHolder;
    return Number.isInteger(holder.pid) && typeof holder.hostname === 'string' ? holder : null;
  } catch {
    return null;
  }
}

/** A process on this machine that no longer runs; another host's processes cannot be checked. */
function isStale(holder: LockHolder): boolean {
  return holder.hostname === hostname() && !alive(holder.pid);
}

export class RunLock {
  private released = false;
  private readonly onSignal = (signal: NodeJS.Signals): void => {
    this.release();
    process.kill(process.pid, signal);
  };
  private readonly onExit = (): void => this.release();

  private constructor(readonly path: string, private readonly content: string) {
    process.once('SIGINT', this.onSignal);
    process.once('SIGTERM', this.onSignal);
    process.once('exit', this.onExit);
  }

  /**
   * Takes `dir`/run.lock. When another live process holds it: with `wait`,
   * polls every `pollMs` until it is free; without, a UserError naming the
   * lock file and its holder.
   */
  static async acquire(dir: string, opts: { wait?: boolean; pollMs?: number } = {}): Promise<RunLock> {
    await mkdir(dir, { recursive: true });
    const path = join(dir, LOCK_FILE);
    const holder: LockHolder = { pid: process.pid, hostname: hostname(), started: new Date().toISOString() };
    const content = `${JSON.stringify(holder)}\n`;
    const tmp = `${path}.tmp-${process.pid}`;
    await writeFile(tmp, content);
    let waiting = false;
    try {
      for (;;) {
        try {
          await link(tmp, path);
          return new RunLock(path, content);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        }
        const other = await readHolder(path);
        if (other && isStale(other)) {
          if (await removeStale(path, other)) logLine(`${path}: took over the lock of pid ${other.pid}, which is no longer running`);
          continue;
        }
        const who = other ? `pid ${other.pid} on ${other.hostname}, since ${other.started}` : 'an unreadable lock file';
        if (!opts.wait) {
          throw new UserError(
            `${path}: another \`bench run\` of this experiment is running (${who}); wait for it to finish, pass --wait, or delete the file if that process is gone`,
          );
        }
        if (!waiting) logLine(`${path}: waiting for the \`bench run\` holding it (${who})`);
        waiting = true;
        await sleep(opts.pollMs ?? 1000);
      }
    } finally {
      await unlink(tmp).catch(() => undefined);
    }
  }

  /** Idempotent and synchronous, so it also runs from the exit handler. */
  release(): void {
    if (this.released) return;
    this.released = true;
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
    process.off('exit', this.onExit);
    try {
      // Only our own lock: never one a later process took over.
      if (readFileSync(this.path, 'utf8') === this.content) unlinkSync(this.path);
    } catch {
      // Already gone.
    }
  }
}

/**
 * Moves a dead holder's lock aside and deletes it. Two processes may both see
 * it stale; the one whose rename moved a live process's lock (taken between
 * its read and its rename) puts that lock back.
 */
async function removeStale(path: string, stale: LockHolder): Promise<boolean> {
  const aside = `${path}.stale-${process.pid}`;
  try {
    await rename(path, aside);
  } catch {
    return false;
  }
  const moved = await readHolder(aside);
  if (moved && (moved.pid !== stale.pid || moved.hostname !== stale.hostname)) {
    await link(aside, path).catch(() => undefined);
    await unlink(aside);
    return false;
  }
  await unlink(aside);
  return true;
}
