/** Reading a training checkpoint's header in tests. */
import { readFile } from 'node:fs/promises';

/** The step a training checkpoint was written at. */
export async function checkpointStep(file: string): Promise<number> {
  const bytes = await readFile(file);
  const header = JSON.parse(bytes.subarray(4, 4 + bytes.readUInt32LE(0)).toString('utf8')) as { extra: { step: number } };
  return header.extra.step;
}

/**
 * What a training checkpoint holds except its timing and the names tfjs gave
 * its tensors in that process: the loop's JSON without trainSeconds, the
 * tensors' shapes per group and their bytes, for comparing two checkpoints
 * of one step.
 */
export async function checkpointContents(file: string): Promise<{ extra: Record<string, unknown>; shapes: Record<string, number[][]>; tensors: Buffer }> {
  const bytes = await readFile(file);
  const length = bytes.readUInt32LE(0);
  const header = JSON.parse(bytes.subarray(4, 4 + length).toString('utf8')) as { extra: Record<string, unknown>; groups: Record<string, { shape: number[] }[]> };
  const { trainSeconds: _trainSeconds, ...extra } = header.extra;
  const shapes = Object.fromEntries(Object.entries(header.groups).map(([group, entries]) => [group, entries.map((e) => e.shape)]));
  return { extra, shapes, tensors: bytes.subarray(4 + length) };
}
