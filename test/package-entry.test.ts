import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'mocha';

describe('package entry points', () => {
  it('context-encoder-bench/metrics resolves to the built metrics (as a library user imports it)', () => {
    // npm test builds dist/ first; a self-reference import goes through package.json "exports".
    const script = "import('context-encoder-bench/metrics').then((m) => console.log(m.averagePrecision([0.1, 0.4, 0.35, 0.8], [-1, -1, 1, 1], 'sklearn').toFixed(4)))";
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), '0.8333');
  });
});
