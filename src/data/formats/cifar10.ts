/**
 * The official CIFAR-10 binary release as a dataset format: root is the
 * unpacked cifar-10-batches-bin/ folder; splits train (data_batch_1..5.bin)
 * and test (test_batch.bin). Records are decoded by ../cifar10-binary.ts.
 */
import { existsSync, statSync } from 'node:fs';
import { UserError } from '../../errors.js';
import { CIFAR10_MISSING_HELP, CIFAR10_SIDE, readCifar10Classes, readCifar10Split, type Cifar10Record } from '../cifar10-binary.js';
import { registerDatasetFormat } from './registry.js';
import type { DatasetHandle, SampleRef } from './types.js';

async function open(root: string): Promise<DatasetHandle> {
  if (!existsSync(root) || !statSync(root).isDirectory()) throw new UserError(`${root}: CIFAR-10 folder not found; ${CIFAR10_MISSING_HELP}`);
  const classes = await readCifar10Classes(root);
  const splits = new Map<string, Cifar10Record[]>();
  return {
    root,
    classes,
    async list(split, opts) {
      if (opts?.with === 'labelMaps') return [];
      if (!splits.has(split)) splits.set(split, await readCifar10Split(root, split, classes.length));
      return splits.get(split)!.map(
        (r): SampleRef => ({
          id: r.source,
          source: r.source,
          image: async () => ({ data: r.rgb, width: CIFAR10_SIDE, height: CIFAR10_SIDE, channels: 3 }),
          labels: [r.label],
        }),
      );
    },
  };
}

registerDatasetFormat({
  name: 'cifar10',
  description: 'the official CIFAR-10 binary release (cifar-10-batches-bin/: data_batch_1..5.bin as train, test_batch.bin as test)',
  provides: { labels: true, multiLabel: false, boxes: false, labelMaps: false },
  missingHelp: CIFAR10_MISSING_HELP,
  open,
});
