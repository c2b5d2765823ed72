/** Reading a training checkpoint's header in tests. */
import { readFile } from 'node:fs/promises';

/** The step a training checkpoint was written at. */
export async function checkpointStep(file: string): Promise<number> {
  const bytes = await readFile(file);
  const header = JSON.parse(bytes.subarray(4, 4 + bytes.readUInt32LE(0)).toString('utf8')) as { extra: { step: number } };
  return header.extra.step;
}
