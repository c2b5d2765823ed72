#!/usr/bin/env node
// Usage: node scripts/same-results.mjs A/results.csv B/results.csv
// Exit 0 when the two results.csv files hold the same numbers, apart from what
// depends on timing (the wall_s and img_per_s columns, the train_seconds
// metric); else exit 1, printing the first rows that differ.
import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';

const TIMING_COLUMNS = new Set(['wall_s', 'img_per_s']);

function numbers(path) {
  const rows = parse(readFileSync(path, 'utf8'), { columns: true });
  return rows.filter((r) => r.metric !== 'train_seconds').map((r) => Object.entries(r).filter(([k]) => !TIMING_COLUMNS.has(k)).map(([, v]) => v).join(','));
}

const [a, b] = process.argv.slice(2);
if (!a || !b) {
  console.error('usage: node scripts/same-results.mjs A/results.csv B/results.csv');
  process.exit(2);
}
const [ra, rb] = [numbers(a), numbers(b)];
const differ = [];
for (let i = 0; i < Math.max(ra.length, rb.length); i++) if (ra[i] !== rb[i]) differ.push(`  ${a}: ${ra[i] ?? '(none)'}\n  ${b}: ${rb[i] ?? '(none)'}`);
if (differ.length > 0) {
  console.log(`${differ.length} of ${Math.max(ra.length, rb.length)} rows differ; first ones:\n${differ.slice(0, 5).join('\n')}`);
  process.exit(1);
}
console.log(`same numbers: ${ra.length} rows (timings aside)`);
