/**
 * Image folders, ImageNet / torchvision ImageFolder style, as a dataset
 * format: <root>/<split>/<class>/*.jpg|png, or <root>/<class>/*.jpg|png.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readImageFolder } from '../folder.js';
import { registerDatasetFormat } from './registry.js';
import type { DatasetHandle, SampleRef } from './types.js';

function isDir(path: string): boolean {
  return existsSync(path) && statSync(path).isDirectory();
}

async function open(root: string): Promise<DatasetHandle> {
  const listing = new Map<string, Awaited<ReturnType<typeof readImageFolder>>>();
  // A split is the subfolder named like it (ImageNet's train/ and val/); without one, every image under the root.
  const read = async (split: string) => {
    const dir = isDir(join(root, split)) ? join(root, split) : root;
    if (!listing.has(dir)) listing.set(dir, await readImageFolder(dir));
    return listing.get(dir)!;
  };
  const handle: DatasetHandle = {
    root,
    classes: [],
    async list(split, opts) {
      if (opts?.with === 'labelMaps') return [];
      const { images, classes } = await read(split);
      // Classes are those of the first split listed (the training split, for every task), so labels index one list.
      if (handle.classes.length === 0) handle.classes = classes;
      return images.map((im): SampleRef => {
        const k = im.label === null ? -1 : handle.classes.indexOf(im.label);
        return { id: im.path, source: im.path, image: async () => im.path, ...(k >= 0 ? { labels: [k] } : {}) };
      });
    },
  };
  return handle;
}

registerDatasetFormat({
  name: 'folder',
  description: 'images in class subfolders, as ImageNet\'s layout: <root>/<split>/<class>/*.jpg|png or <root>/<class>/*.jpg|png',
  provides: { labels: true, multiLabel: false, boxes: false, labelMaps: false },
  missingHelp:
    'an ImageNet-style folder has one subfolder of images per class (e.g. ILSVRC2012 train, from https://image-net.org/ after registration); ' +
    'expected <root>/<split>/<class>/*.jpg|png, or <root>/<class>/*.jpg|png',
  open,
});
