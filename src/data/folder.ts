/**
 * A folder of images, torchvision ImageFolder-style: the first-level subfolder
 * names the class; deeper folders only group files.
 */
import { existsSync, statSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { UserError } from '../errors.js';

export interface FolderImage {
  path: string;
  /** First-level subfolder under root; null for files directly in root. */
  label: string | null;
}

const IMAGE_EXTENSIONS = /\.(jpe?g|png)$/i;

/** Code-unit order, so the listing (and every seeded shuffle of it) is the same in every locale. */
function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

async function walk(dir: string, out: string[]): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    // Symlinked folders are followed: datasets are often assembled from links.
    const isDirectory = entry.isDirectory() || (entry.isSymbolicLink() && (await stat(path)).isDirectory());
    if (isDirectory) await walk(path, out);
    else if (IMAGE_EXTENSIONS.test(entry.name)) out.push(path);
  }
}

export async function readImageFolder(root: string): Promise<{ images: FolderImage[]; classes: string[] }> {
  if (!existsSync(root) || !statSync(root).isDirectory()) {
    throw new UserError(`${root}: image folder not found; pass a folder of .jpg/.png images, one subfolder per class`);
  }
  const paths: string[] = [];
  await walk(root, paths);
  if (paths.length === 0) {
    throw new UserError(`${root}: no .jpg/.jpeg/.png images found (searched subfolders too)`);
  }
  paths.sort(byCodeUnit);
  const images = paths.map((path): FolderImage => {
    const parts = relative(root, path).split(sep);
    return { path, label: parts.length > 1 ? parts[0] : null };
  });
  const classes = [...new Set(images.map((im) => im.label).filter((l): l is string => l !== null))].sort(byCodeUnit);
  return { images, classes };
}
