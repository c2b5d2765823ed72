import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'mocha';
import { LOCK_FILE, RunLock } from '../../src/results/lock.js';
import { UserError } from '../../src/errors.js';

/** The pid of a process that has already exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '']);
  return r.pid!;
}

describe('run lock', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'ceb-lock-'));
  });
  after(() => rm(root, { recursive: true, force: true }));

  it('names its holder, refuses a second holder with the lock file and pid, and is gone after release', async () => {
    const dir = join(root, 'a');
    const lock = await RunLock.acquire(dir);
    const holder = JSON.parse(await readFile(join(dir, LOCK_FILE), 'utf8'));
    assert.equal(holder.pid, process.pid);
    assert.equal(holder.hostname, hostname());
    await assert.rejects(RunLock.acquire(dir), (err: Error) =>
      err instanceof UserError && err.message.startsWith(`${join(dir, LOCK_FILE)}: another \`bench run\` of this experiment is running (pid ${process.pid} on ${hostname()}`),
    );
    lock.release();
    assert.equal(existsSync(join(dir, LOCK_FILE)), false);
  });

  it('takes over a lock whose process is gone', async () => {
    const dir = join(root, 'b');
    await RunLock.acquire(dir).then((l) => l.release());
    const stale = { pid: deadPid(), hostname: hostname(), started: '2020-01-01T00:00:00.000Z' };
    await writeFile(join(dir, LOCK_FILE), JSON.stringify(stale));
    const lock = await RunLock.acquire(dir);
    assert.equal(JSON.parse(await readFile(join(dir, LOCK_FILE), 'utf8')).pid, process.pid);
    lock.release();
  });

  it('with wait, waits for the holder to release', async () => {
    const dir = join(root, 'c');
    const first = await RunLock.acquire(dir);
    setTimeout(() => first.release(), 200);
    const started = Date.now();
    const second = await RunLock.acquire(dir, { wait: true, pollMs: 20 });
    assert.ok(Date.now() - started >= 150);
    second.release();
  });

  it('release leaves a lock it does not own', async () => {
    const dir = join(root, 'd');
    const lock = await RunLock.acquire(dir);
    const other = JSON.stringify({ pid: 1, hostname: 'elsewhere', started: 'x' });
    await writeFile(join(dir, LOCK_FILE), other);
    lock.release();
    assert.equal(await readFile(join(dir, LOCK_FILE), 'utf8'), other);
  });
});
