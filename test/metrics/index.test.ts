import assert from 'node:assert/strict';
import { describe, it } from 'mocha';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as metrics from '../../src/metrics/index.js';

const dir = fileURLToPath(new URL('../../src/metrics/', import.meta.url));

describe('metrics entry point', () => {
  it('re-exports the public functions', () => {
    for (const name of [
      'averagePrecision',
      'interpolatedAP',
      'meanAP',
      'boxIoU',
      'detectionAP',
      'confusionMatrix',
      'meanIoU',
      'pixelAccuracy',
      'inpaintingScores',
      'meanInpaintingScores',
      'knnVotes',
      'knnVote',
      'knnPredict',
      'l2NormalizeRows',
      'accuracy',
    ]) {
      assert.equal(typeof (metrics as Record<string, unknown>)[name], 'function', name);
    }
  });

  it('imports only sibling metric files (no tfjs, no node modules, nothing else of ours)', () => {
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
      const code = readFileSync(dir + file, 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
      const specifiers = [...code.matchAll(/(?:\bfrom|\bimport|\brequire)\s*\(?\s*['"]([^'"]+)['"]/g)].map((m) => m[1]);
      if (file === 'index.ts') assert.equal(specifiers.length, 5); // the scan sees the re-exports
      for (const spec of specifiers) assert.match(spec, /^\.\/[\w-]+\.js$/, `${file} imports ${spec}`);
    }
  });
});
