/**
 * Plain file helpers, below every other module that writes. Atomic writes:
 * every file goes to a temp name in the same folder and is renamed into
 * place, so an interrupted run never leaves a half-written file that a later
 * run would trust.
 */
import { access, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

let counter = 0;

function tempName(path: string): string {
  counter += 1;
  return `${path}.tmp-${process.pid}-${counter}`;
}

/** Whether a file or folder name is one of tempName's, i.e. something not yet renamed into place. */
export function isTempName(name: string): boolean {
  return /\.tmp-\d+-\d+$/.test(name);
}

export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = tempName(path);
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n');
}

/**
 * Fills a folder through `fill(tmpDir)`, then renames it to `dir`, replacing
 * what was there: a checkpoint is either whole or absent.
 */
export async function writeDirAtomic(dir: string, fill: (tmpDir: string) => Promise<void>): Promise<void> {
  const tmp = tempName(dir);
  await mkdir(tmp, { recursive: true });
  try {
    await fill(tmp);
    await rm(dir, { recursive: true, force: true });
    await rename(tmp, dir);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}

/** Whether a file or folder exists (and is reachable). */
export async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
