/**
 * `bench report` and `bench check`: from results/<experiment>/ alone (no
 * training) to reports/<experiment>/, and from results to a pass/fail against
 * a baseline file.
 *
 * reports/<experiment>/ holds tables.md, tables.tex, index.html (everything
 * embedded), charts/*.png and samples/*.png. It is written as a whole
 * (temp folder + rename) and is a pure function of the results: no
 * timestamps, stable ordering, deterministic PNGs, so regenerating gives the
 * same bytes.
 */
import { readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { checkAgainstBaseline, formatCheckTable, makeBaseline, readBaseline, writeBaseline } from '../results/baseline.js';
import { writeDirAtomic, writeFileAtomic } from '../fs/atomic.js';
import { UserError } from '../errors.js';
import { downstreamBarCharts, fileSafe, methodColors, perClassCharts, perLayerCharts, pretextLossChart } from './charts.js';
import {
  buildInpaintingTable,
  buildPerClassTables,
  buildPerLayerTables,
  buildPublishedPerLayerTable,
  buildTransferTables,
  collectPerClass,
  collectPerLayer,
  transferProtocols,
} from './content.js';
import { Block, documentToLatex, documentToMarkdown, ReportDocument, ReportImage, Section } from './document.js';
import { documentToHtml } from './html.js';
import { aggregate, checkExperimentName, ExperimentResults, loadResults } from '../results/load.js';
import { compareMethods, compareProtocols, methodLabel } from '../results/names.js';
import { groupSamples, renderSampleGrid } from './samples.js';

export interface ReportOptions {
  /** Folder holding results/<experiment>/; default 'results'. */
  resultsRoot?: string;
  /** Folder to write reports/<experiment>/ into; default 'reports'. */
  reportsRoot?: string;
}

const HOW_TO_READ =
  'Rows whose source is "ours" are measured by this harness from results/; rows whose source is "published" are ' +
  "copied from published tables (the paper's, and Zhang et al.'s per-layer probes; shared/PAPER.md; italic in the HTML " +
  'and LaTeX versions). Scores are mean ± sample ' +
  'standard deviation over seeds, in percent unless a column says otherwise. An empty cell means the task was not run ' +
  'for that method; it is never a zero.';

async function sampleImages(results: ExperimentResults, warnings: string[]): Promise<ReportImage[]> {
  const images: ReportImage[] = [];
  const jobs = results.jobs.filter((j) => j.task === 'inpainting' && j.samples.length > 0);
  const keys = [...new Set(jobs.map((j) => `${j.method}\u0000${j.protocol ?? ''}`))].sort((a, b) => {
    const [ma, pa] = a.split('\u0000');
    const [mb, pb] = b.split('\u0000');
    return compareMethods(ma, mb) || compareProtocols(pa, pb);
  });
  for (const key of keys) {
    const [method, protocol] = key.split('\u0000');
    // One seed is enough to see what a model does; the lowest seed keeps the choice stable.
    const job = jobs.filter((j) => j.method === method && (j.protocol ?? '') === protocol).sort((a, b) => a.seed - b.seed)[0];
    const title = `${methodLabel(method)}${protocol ? ` (${protocol})` : ''}, seed ${job.seed}`;
    const grid = await renderSampleGrid(title, groupSamples(job.samples));
    for (const path of grid.missing) warnings.push(`${path}: listed in ${job.id}'s metrics.json samples but not found`);
    if (grid.rows === 0) continue;
    images.push({
      file: `samples/${fileSafe(method)}${protocol ? `-${fileSafe(protocol)}` : ''}.png`,
      caption: `Inpainting samples, ${title}: masked input, prediction, ground truth.`,
      png: grid.png,
    });
  }
  return images;
}

/**
 * Results at several encoder layers: our per-layer tables, Zhang et al.'s
 * published ImageNet rows beside them, then one chart per table. Absent
 * when no task ran at two or more layers.
 */
function perLayerSection(results: ExperimentResults, stats: ReturnType<typeof aggregate>, colors: Map<string, string>): Section[] {
  const data = collectPerLayer(results, stats);
  if (data.length === 0) return [];
  const tables: Block[] = [...buildPerLayerTables(data), buildPublishedPerLayerTable()].map((table) => ({ kind: 'table', table }));
  const charts: Block[] = perLayerCharts(data, colors).map((image) => ({ kind: 'image', image }));
  return [{ title: 'Features per encoder layer (probes)', blocks: [...tables, ...charts] }];
}

export async function buildReportDocument(results: ExperimentResults): Promise<{ doc: ReportDocument; warnings: string[] }> {
  const warnings: string[] = [];
  const stats = aggregate(results.rows);
  const colors = methodColors(results);
  const protocols = transferProtocols(results);
  const perClass = collectPerClass(results.jobs);
  const images = (list: ReportImage[]): Block[] => list.map((image) => ({ kind: 'image', image }));

  const loss = pretextLossChart(results, colors);
  const samples = await sampleImages(results, warnings);
  const sections: Section[] = [
    { title: 'How to read this report', blocks: [{ kind: 'text', text: HOW_TO_READ }] },
    {
      title: 'Transfer to downstream tasks (Table 2)',
      blocks: [
        ...buildTransferTables(results, stats).map((table): Block => ({ kind: 'table', table })),
        ...images(downstreamBarCharts(results, stats, protocols, colors)),
      ],
    },
    ...perLayerSection(results, stats, colors),
    { title: 'Semantic inpainting (Table 1)', blocks: [{ kind: 'table', table: buildInpaintingTable(results, stats) }, ...images(samples)] },
  ];
  if (loss) sections.push({ title: 'Pretext training', blocks: images([loss]) });
  if (perClass.length > 0) {
    const tables = buildPerClassTables(perClass);
    const charts = perClassCharts(perClass, colors);
    sections.push({
      title: 'Per-class results',
      blocks: tables.flatMap((table, i): Block[] => [{ kind: 'table', table }, { kind: 'image', image: charts[i] }]),
    });
  }
  return { doc: { title: `Context-encoder benchmark: ${results.experiment}`, sections }, warnings };
}

export async function generateReport(experimentName: string, opts: ReportOptions = {}): Promise<{ files: string[]; warnings: string[] }> {
  const results = await loadResults(experimentName, opts.resultsRoot ?? 'results');
  const { doc, warnings } = await buildReportDocument(results);
  const contents = new Map<string, string | Uint8Array>();
  for (const section of doc.sections) {
    for (const block of section.blocks) if (block.kind === 'image') contents.set(block.image.file, block.image.png);
  }
  contents.set('tables.md', documentToMarkdown(doc));
  contents.set('tables.tex', documentToLatex(doc));
  contents.set('index.html', documentToHtml(doc));
  const outDir = resolve(opts.reportsRoot ?? 'reports', experimentName);
  await writeDirAtomic(outDir, async (tmp) => {
    for (const [file, data] of contents) await writeFileAtomic(join(tmp, file), data);
  });
  return { files: [...contents.keys()].sort().map((file) => join(outDir, file)), warnings };
}

/**
 * The experiment's name: its JSON's "name" field, or the file's name without
 * .json when the file cannot be read or has no name (so `bench report
 * voc-cls` works once the results exist). Only "name" is read, so this does
 * not depend on the experiment loader's validation.
 */
export async function experimentNameFromFile(experimentPath: string): Promise<string> {
  let name: string | null = null;
  try {
    const parsed: unknown = JSON.parse(await readFile(experimentPath, 'utf8'));
    if (parsed && typeof parsed === 'object' && typeof (parsed as { name?: unknown }).name === 'string') name = (parsed as { name: string }).name;
  } catch {
    name = null;
  }
  const result = name ?? basename(experimentPath).replace(/\.json$/i, '');
  checkExperimentName(result);
  return result;
}

export interface CliOutput {
  log?: (line: string) => void;
  warn?: (line: string) => void;
}

/** `bench report <experiment.json>`. */
export async function runReport(experimentPath: string, opts: ReportOptions & CliOutput = {}): Promise<{ files: string[]; warnings: string[] }> {
  const log = opts.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const warn = opts.warn ?? ((line: string) => process.stderr.write(`warning: ${line}\n`));
  const name = await experimentNameFromFile(experimentPath);
  const out = await generateReport(name, opts);
  for (const w of out.warnings) warn(w);
  log(`report: ${join(opts.reportsRoot ?? 'reports', name, 'index.html')} (${out.files.length} files in ${join(opts.reportsRoot ?? 'reports', name)}/)`);
  return out;
}

export interface CheckOptions extends CliOutput {
  /** Baseline file; default experiments/baselines/<experiment>.json. */
  baseline?: string;
  /** Write a new baseline from the current results instead of checking. */
  update?: boolean;
  resultsRoot?: string;
  /** Tolerance multiplier for --update (default 3). */
  k?: number;
}

/**
 * `bench check <experiment.json> [--baseline file] [--update]`: true when every
 * check holds (or the baseline was rewritten), false on any regression, after
 * printing the table of regressions; the CLI turns false into exit code 1.
 */
export async function runCheck(experimentPath: string, opts: CheckOptions = {}): Promise<boolean> {
  const log = opts.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const warn = opts.warn ?? ((line: string) => process.stderr.write(`warning: ${line}\n`));
  const name = await experimentNameFromFile(experimentPath);
  const baselinePath = opts.baseline ?? join('experiments', 'baselines', `${name}.json`);
  const results = await loadResults(name, opts.resultsRoot ?? 'results');
  if (opts.update) {
    const { baseline, warnings } = makeBaseline(results, { k: opts.k ?? 3 });
    for (const w of warnings) warn(w);
    await writeBaseline(baselinePath, baseline);
    log(`baseline: wrote ${baselinePath} (${baseline.metrics.length} metrics, ${baseline.orderings.length} orderings)`);
    return true;
  }
  const baseline = await readBaseline(baselinePath);
  if (baseline.experiment !== name) {
    throw new UserError(`${baselinePath}: baseline is for experiment "${baseline.experiment}", not "${name}"; pass the right --baseline or rewrite it with --update`);
  }
  const { rows, failed } = checkAgainstBaseline(results, baseline);
  if (failed) {
    const bad = rows.filter((r) => r.status !== 'ok');
    log(`check: ${bad.length} of ${rows.length} checks regressed against ${baselinePath}:`);
    log(formatCheckTable(bad).trimEnd());
    return false;
  }
  log(`check: all ${rows.length} checks hold against ${baselinePath}`);
  log(formatCheckTable(rows).trimEnd());
  return true;
}
