import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../../src/errors.js';
import { readImageFolder } from '../../src/data/folder.js';

describe('data/folder', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'folder-'));
    const files = [
      'b/z.jpeg',
      'a/x.jpg',
      'a/deep/er/y.PNG',
      'a/notes.txt',
      'top.png',
      '.hidden/h.jpg',
      'c/.DS_Store',
      'empty/.keep',
    ];
    for (const f of files) {
      await mkdir(join(root, f, '..'), { recursive: true });
      await writeFile(join(root, f), 'x');
    }
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('lists images recursively, labelled by their first-level folder', async () => {
    const { images, classes } = await readImageFolder(root);
    assert.deepEqual(images, [
      { path: join(root, 'a/deep/er/y.PNG'), label: 'a' },
      { path: join(root, 'a/x.jpg'), label: 'a' },
      { path: join(root, 'b/z.jpeg'), label: 'b' },
      { path: join(root, 'top.png'), label: null },
    ]);
    assert.deepEqual(classes, ['a', 'b']);
  });

  it('rejects a missing folder and one without images', async () => {
    await assert.rejects(readImageFolder(join(root, 'missing')), (e: unknown) => e instanceof UserError && /missing: image folder not found/.test(e.message));
    await assert.rejects(readImageFolder(join(root, 'empty')), (e: unknown) => e instanceof UserError && /empty: no \.jpg/.test(e.message));
  });
});
