/**
 * The command that runs this installation's CLI in another process (a pool
 * worker, a SLURM array task): the built dist/src/cli.js, or src/cli.ts
 * through tsx when this code itself runs from source (the tests).
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function benchCommand(): string[] {
  const here = fileURLToPath(import.meta.url);
  const fromSource = here.endsWith('.ts');
  const cli = join(dirname(here), '..', '..', fromSource ? 'cli.ts' : 'cli.js');
  return fromSource ? [process.execPath, '--import', 'tsx', cli] : [process.execPath, cli];
}
