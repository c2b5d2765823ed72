import assert from 'node:assert/strict';
import { describe, it } from 'mocha';
import { inpaintingScores, meanInpaintingScores } from '../../src/metrics/image-quality.js';

function close(actual: number, expected: number, tol = 1e-12): void {
  assert.ok(Math.abs(actual - expected) <= tol, `expected ${expected}, got ${actual}`);
}

describe('inpaintingScores', () => {
  it('scores only the hole (mask > 0)', () => {
    // hole pixels 0, 1, 3: differences .25, 0, 0; pixel 2 (diff 1) is outside the hole
    const s = inpaintingScores([0.5, 1, 0, 0.2], [0.25, 1, 1, 0.2], [1, 1, 0, 1]);
    close(s.l1, 0.25 / 3);
    close(s.l2, 0.0625 / 3);
    close(s.psnr, 10 * Math.log10(48)); // 16.812 dB
  });

  it('broadcasts a per-pixel mask over interleaved channels', () => {
    // 2 pixels x 3 channels; only pixel 1 is in the hole: diffs .5, 0, .25
    const pred = Float32Array.from([0, 0, 0, 0.5, 0.5, 0.5]);
    const truth = Float32Array.from([1, 1, 1, 0, 0.5, 0.75]);
    const s = inpaintingScores(pred, truth, Uint8Array.from([0, 1]));
    close(s.l1, 0.75 / 3);
    close(s.l2, 0.3125 / 3);
    close(s.psnr, 10 * Math.log10(3 / 0.3125));
  });

  it('PSNR is Infinity for a perfect fill', () => {
    assert.deepEqual(inpaintingScores([0.3, 0.7], [0.3, 0.7], [1, 1]), { l1: 0, l2: 0, psnr: Infinity });
  });

  it('rejects values outside [0, 1], an empty hole and mismatched lengths', () => {
    assert.throws(() => inpaintingScores([-0.5], [0], [1]), /outside \[0, 1\]/);
    assert.throws(() => inpaintingScores([0.5], [1.5], [0]), /outside \[0, 1\]/);
    assert.throws(() => inpaintingScores([0.5, 0.5], [0.5, 0.5], [0, 0]), /no pixel/);
    assert.throws(() => inpaintingScores([0.5], [0.5, 0.5], [1]), RangeError);
    assert.throws(() => inpaintingScores([0.5, 0.5, 0.5], [0.5, 0.5, 0.5], [1, 1]), RangeError);
  });
});

describe('meanInpaintingScores', () => {
  it('averages each score per image (PSNR of each image, not of the mean MSE)', () => {
    const m = meanInpaintingScores([
      { l1: 0.1, l2: 0.01, psnr: 20 },
      { l1: 0.3, l2: 0.1, psnr: 10 },
    ]);
    close(m.l1, 0.2);
    close(m.l2, 0.055);
    close(m.psnr, 15); // 10 log10(1 / .055) would be 12.6
    assert.equal(meanInpaintingScores([{ l1: 0, l2: 0, psnr: Infinity }, { l1: 0.1, l2: 0.01, psnr: 20 }]).psnr, Infinity);
    assert.ok(Number.isNaN(meanInpaintingScores([]).l1));
  });
});
