/**
 * Inpainting sample grids: one row per sample, columns masked input |
 * prediction | ground truth, composed from the PNGs an inpainting job lists in
 * metrics.json `samples`.
 *
 * A sample's three files are recognised by a role word in the file name
 * (split on - _ .): input/masked, pred/prediction/output/recon, truth/gt/
 * target/real/original; the rest of the name pairs them up, e.g.
 * `sample-003-input.png`, `sample-003-pred.png`, `sample-003-truth.png`.
 * A file with no role word is taken as an already composed row and drawn
 * across all three columns.
 */
import { existsSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { createCanvas, GlobalFonts, Image, loadImage } from '@napi-rs/canvas';
import { compareStrings } from '../results/names.js';

export type SampleRole = 'input' | 'prediction' | 'truth';

const ROLE_WORDS: Record<string, SampleRole> = {
  input: 'input',
  masked: 'input',
  pred: 'prediction',
  prediction: 'prediction',
  output: 'prediction',
  recon: 'prediction',
  truth: 'truth',
  gt: 'truth',
  target: 'truth',
  real: 'truth',
  original: 'truth',
};

export interface SampleRowFiles {
  key: string;
  input?: string;
  prediction?: string;
  truth?: string;
  /** A file with no role word: a row composed by the job itself. */
  composite?: string;
}

export function groupSamples(paths: readonly string[]): SampleRowFiles[] {
  const rows = new Map<string, SampleRowFiles>();
  for (const path of paths) {
    const words = basename(path, extname(path)).split(/[-_.]/);
    const roleIndex = words.findIndex((w) => ROLE_WORDS[w.toLowerCase()] !== undefined);
    if (roleIndex < 0) {
      rows.set(`composite\u0000${path}`, { key: path, composite: path });
      continue;
    }
    const key = words.filter((_, i) => i !== roleIndex).join('-');
    const row = rows.get(key) ?? { key };
    row[ROLE_WORDS[words[roleIndex].toLowerCase()]] = path;
    rows.set(key, row);
  }
  return [...rows.values()].sort((a, b) => compareStrings(a.key, b.key));
}

const FONT = `${GlobalFonts.has('DejaVu Sans') ? 'DejaVu Sans' : 'sans-serif'}`;
const COLUMNS: [SampleRole, string][] = [
  ['input', 'Masked input'],
  ['prediction', 'Prediction'],
  ['truth', 'Ground truth'],
];

export interface SampleGrid {
  png: Uint8Array;
  rows: number;
  /** Listed files that were not on disk. */
  missing: string[];
}

/**
 * Cells keep the samples' own size when it is at least 96 px, else grow by an
 * integer factor without smoothing, so small samples stay sharp and honest.
 */
export async function renderSampleGrid(title: string, files: readonly SampleRowFiles[], maxRows = 8): Promise<SampleGrid> {
  const missing: string[] = [];
  const load = async (path: string | undefined): Promise<Image | null> => {
    if (!path) return null;
    if (!existsSync(path)) {
      missing.push(path);
      return null;
    }
    return loadImage(path);
  };
  const rows: { cells: (Image | null)[]; composite: Image | null }[] = [];
  for (const row of files.slice(0, maxRows)) {
    rows.push({ cells: await Promise.all(COLUMNS.map(([role]) => load(row[role]))), composite: await load(row.composite) });
  }
  const firstCell = rows.flatMap((r) => r.cells).find((img): img is Image => img !== null);
  const firstComposite = rows.map((r) => r.composite).find((img): img is Image => img !== null);
  const natural = firstCell ? firstCell.width : firstComposite ? Math.round(firstComposite.width / COLUMNS.length) : 64;
  const cell = natural >= 96 ? natural : natural * Math.ceil(96 / natural);
  const gap = 6;
  const titleHeight = 34;
  const headerHeight = 26;
  const width = gap + COLUMNS.length * (cell + gap);
  const height = titleHeight + headerHeight + Math.max(1, rows.length) * (cell + gap) + gap;

  const canvas = createCanvas(width, height);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, width, height);
  ctx.imageSmoothingEnabled = natural >= 96;
  ctx.fillStyle = '#222222';
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  ctx.font = `bold 16px ${FONT}`;
  ctx.fillText(title, width / 2, titleHeight / 2, width - 2 * gap);
  ctx.font = `14px ${FONT}`;
  COLUMNS.forEach(([, label], c) => ctx.fillText(label, gap + c * (cell + gap) + cell / 2, titleHeight + headerHeight / 2));
  rows.forEach((row, r) => {
    const y = titleHeight + headerHeight + r * (cell + gap);
    if (row.composite) {
      const span = COLUMNS.length * cell + (COLUMNS.length - 1) * gap;
      const h = Math.min(cell, Math.round((row.composite.height * span) / row.composite.width));
      ctx.drawImage(row.composite, gap, y, span, h);
      return;
    }
    row.cells.forEach((img, c) => {
      const x = gap + c * (cell + gap);
      if (img) ctx.drawImage(img, x, y, cell, cell);
      else {
        ctx.fillStyle = '#eeeeee';
        ctx.fillRect(x, y, cell, cell);
        ctx.fillStyle = '#888888';
        ctx.fillText('not available', x + cell / 2, y + cell / 2, cell - 4);
      }
    });
  });
  const png = canvas.toBuffer('image/png');
  return { png: new Uint8Array(png.buffer, png.byteOffset, png.byteLength), rows: rows.length, missing };
}
