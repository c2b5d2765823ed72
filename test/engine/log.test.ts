import assert from 'node:assert/strict';
import { describe, it } from 'mocha';
import { formatDuration, Progress } from '../../src/engine/log.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('engine/log: progress in a log file', () => {
  it('prints between the every-N lines once the interval has passed, with step/total, status and ETA', async () => {
    const lines: string[] = [];
    const progress = new Progress('pretext context-encoder', 1000, 500, { tty: false, intervalMs: 40, write: (l) => lines.push(l) });
    for (let step = 1; step <= 12; step++) {
      await sleep(10);
      progress.update(step, 'loss 0.1234 55.0 img/s');
    }
    // At least 120 ms of steps at a 40 ms interval: some lines, but not one per step, none from the every-500 rule.
    assert.ok(lines.length >= 2 && lines.length < 12, lines.join('\n'));
    const m = /^pretext context-encoder (\d+)\/1000 loss 0\.1234 55\.0 img\/s ETA (\S+)$/.exec(lines[0]);
    assert.ok(m, lines[0]);
    assert.ok(Number(m[1]) >= 2, lines[0]);
    // At 10 ms or more a step with about 990 steps to go, the ETA is at least about 10 s.
    assert.match(m[2], /^(\d{2}s|\d+m\d{2}s)$/);
  });

  it('without time passing, only every N steps and the last; a resumed run counts its ETA from where it started', () => {
    const lines: string[] = [];
    const progress = new Progress('job', 30, 10, { tty: false, intervalMs: 60_000, startStep: 5, write: (l) => lines.push(l) });
    for (let step = 6; step <= 30; step++) progress.update(step, '');
    assert.deepEqual(lines.map((l) => l.split(' ')[1]), ['10/30', '20/30', '30/30']);
    assert.ok(!lines[2].includes('ETA'), 'no ETA once done');
  });

  it('formats durations', () => {
    assert.equal(formatDuration(42.4), '42s');
    assert.equal(formatDuration(185), '3m05s');
    assert.equal(formatDuration(3720), '1h02m');
  });
});
