/**
 * Which way imports run between the top-level folders of src/ (README,
 * Architecture): no two folders import each other, directly or through
 * others, type-only imports included; and the named directions never occur.
 * Imports are read from the source text: every one of ours is a static
 * relative specifier, so no parser is needed.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, it } from 'mocha';

const SRC = resolve('src');

interface ImportEdge {
  file: string;
  line: number;
  specifier: string;
  /** Top-level folder (or root file) of src/ the import points into; null for a package. */
  to: string | null;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return e.name.endsWith('.ts') ? [path] : [];
  });
}

/** 'engine' for src/engine/**, 'errors' for src/errors.ts. */
function moduleOf(path: string): string {
  const [first] = relative(SRC, path).split(sep);
  return first.replace(/\.(ts|js|json)$/, '');
}

/** `from '...'`, side-effect `import '...'`, `export ... from '...'` and dynamic `import('...')`, with the line each starts on. */
function importsOf(text: string): { line: number; specifier: string }[] {
  const out: { line: number; specifier: string }[] = [];
  const pattern = /(?:\bfrom\s*|\bimport\s*\(?\s*)['"]([^'"]+)['"]/g;
  for (let m = pattern.exec(text); m; m = pattern.exec(text)) {
    out.push({ line: text.slice(0, m.index).split('\n').length, specifier: m[1] });
  }
  return out;
}

function edgesOf(file: string): ImportEdge[] {
  return importsOf(readFileSync(file, 'utf8')).map(({ line, specifier }) => ({
    file: relative('.', file),
    line,
    specifier,
    to: specifier.startsWith('.') ? moduleOf(resolve(dirname(file), specifier)) : null,
  }));
}

const files = sourceFiles(SRC);
const edges = files.flatMap((file) => edgesOf(file).map((e) => ({ ...e, from: moduleOf(file) })));
const crossing = edges.filter((e) => e.to !== null && e.to !== e.from);

/** Every cycle of the folder graph, as the folders on it, found by depth-first search from each folder. */
function folderCycles(): string[][] {
  const next = new Map<string, Set<string>>();
  for (const e of crossing) {
    if (!next.has(e.from)) next.set(e.from, new Set());
    next.get(e.from)!.add(e.to!);
  }
  const cycles = new Map<string, string[]>();
  const walk = (start: string, at: string, path: string[]): void => {
    for (const to of next.get(at) ?? []) {
      if (to === start) {
        // One name per cycle: rotated to start at its smallest folder.
        const i = path.indexOf([...path].sort()[0]);
        const rotated = [...path.slice(i), ...path.slice(0, i)];
        cycles.set(rotated.join(' -> '), rotated);
      } else if (!path.includes(to) && to > start) {
        walk(start, to, [...path, to]);
      }
    }
  };
  for (const start of next.keys()) walk(start, start, [start]);
  return [...cycles.values()];
}

/**
 * The README's picture, top to bottom: a folder imports only folders on rows
 * below its own. A new folder must be placed here (and in the README).
 */
const LAYERS: readonly (readonly string[])[] = [
  ['cli', 'index'],
  ['commands', 'perf', 'report'],
  ['experiment'],
  ['pretext', 'downstream', 'results'],
  ['models'],
  ['data'],
  ['engine'],
  ['fs', 'registry', 'metrics'],
  ['errors'],
];

function rowOf(folder: string): number {
  return LAYERS.findIndex((row) => row.includes(folder));
}

function show(list: { file: string; line: number; specifier: string }[]): string {
  return list.map((e) => `${e.file}:${e.line} imports '${e.specifier}'`).join('\n');
}

function forbidden(from: string, to: readonly string[]): typeof crossing {
  return crossing.filter((e) => e.from === from && to.includes(e.to!));
}

describe('architecture: import directions between the folders of src/', () => {
  it('finds the imports it checks (the scan is not blind)', () => {
    assert.ok(files.length > 50, `only ${files.length} source files found under ${SRC}`);
    assert.ok(crossing.some((e) => e.from === 'experiment' && e.to === 'pretext'), 'experiment/ -> pretext/ not seen');
    assert.deepEqual(importsOf("import {\n  a,\n  b,\n} from '../x/y.js';\nimport type { T } from './t.js';\nimport '../side.js';\nexport { z } from '../z.js';\nawait import('../lazy.js');"), [
      { line: 4, specifier: '../x/y.js' },
      { line: 5, specifier: './t.js' },
      { line: 6, specifier: '../side.js' },
      { line: 7, specifier: '../z.js' },
      { line: 8, specifier: '../lazy.js' },
    ]);
  });

  it('has no import cycle between top-level folders', () => {
    const cycles = folderCycles();
    const detail = cycles.map((c) => {
      const hops = c.map((from, i) => crossing.filter((e) => e.from === from && e.to === c[(i + 1) % c.length]).slice(0, 2));
      return `${[...c, c[0]].join(' -> ')}\n${hops.map(show).join('\n')}`;
    });
    assert.deepEqual(detail, []);
  });

  it('places every folder of src/ on a row of the picture, and every import points to a lower row (so pretext and downstream never meet)', () => {
    const unplaced = [...new Set(files.map(moduleOf))].filter((m) => rowOf(m) < 0);
    assert.deepEqual(unplaced, [], 'add these to LAYERS and to the README picture');
    assert.equal(show(crossing.filter((e) => rowOf(e.to!) <= rowOf(e.from))), '');
  });

  it('metrics imports nothing of ours and no tfjs', () => {
    const bad = edges.filter((e) => e.from === 'metrics' && ((e.to !== null && e.to !== 'metrics') || e.specifier.startsWith('@tensorflow/')));
    assert.equal(show(bad), '');
  });

  it('report and check read results: no pretext, downstream, models or experiment', () => {
    assert.equal(show([...forbidden('report', ['pretext', 'downstream', 'models', 'experiment']), ...forbidden('results', ['report', 'pretext', 'downstream', 'models', 'experiment'])]), '');
  });
});
