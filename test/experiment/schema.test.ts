import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, it } from 'mocha';
import { validateExperiment } from '../../src/experiment/load.js';

describe('experiment schema', function () {
  it('src/experiment/schema.json (for editors) is what the registries build now; run `npm run schema` after changing one', async () => {
    // A process of its own: this one also holds entries that tests register.
    const tsx = pathToFileURL(resolve('node_modules/tsx/dist/loader.mjs')).href;
    const r = spawnSync(process.execPath, ['--import', tsx, resolve('src/cli.ts'), 'schema'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const built = JSON.parse(r.stdout) as { definitions: { pretext: { properties: { method: { enum: string[] } } } } };
    assert.deepEqual(built.definitions.pretext.properties.method.enum, ['context-encoder', 'autoencoder', 'random', 'rotation', 'supervised']);
    assert.equal(await readFile(join('src', 'experiment', 'schema.json'), 'utf8'), r.stdout);
  });

  it('accepts every committed experiment', async () => {
    for (const file of (await readdir('experiments')).filter((f) => f.endsWith('.json'))) {
      assert.deepEqual(validateExperiment(JSON.parse(await readFile(join('experiments', file), 'utf8'))), [], file);
    }
  });
});
