/**
 * A small table model and its three renderings: Markdown, LaTeX (booktabs)
 * and HTML. Cells are plain strings already formatted; '' is an empty cell
 * (a task that was not run), never a zero.
 */

export interface TableColumn {
  label: string;
  align: 'left' | 'right';
}

export interface TableRow {
  cells: string[];
  /** A row copied from the paper rather than measured here: set in italics in LaTeX and HTML. */
  published?: boolean;
}

export interface Table {
  /** Stable identifier: LaTeX label and HTML id. */
  id: string;
  title: string;
  columns: TableColumn[];
  /** Row groups, separated by a rule (\midrule in LaTeX). */
  groups: TableRow[][];
  notes: string[];
}

/** -0 prints as "-0.0" with toFixed; a rounded zero should read as zero. */
export function fixed(value: number, digits: number): string {
  const text = value.toFixed(digits);
  return /^-0(\.0*)?$/.test(text) ? text.slice(1) : text;
}

/**
 * "52.0 ± 2.0": mean and sample std over seeds, both multiplied by `scale`
 * (100 for fractions shown as percent). One seed shows the value alone: a
 * spread of one number is not a spread.
 */
export function formatMeanStd(stats: { mean: number; std: number; n: number }, scale: number, digits: number): string {
  const m = fixed(stats.mean * scale, digits);
  return stats.n < 2 ? m : `${m} ± ${fixed(stats.std * scale, digits)}`;
}

/** Pre-training time in the unit a reader would say it in: "< 0.1 s", "4.2 s", "41 s", "3.2 min", "2.5 h". */
export function formatDuration(seconds: number): string {
  if (seconds < 0.05) return '< 0.1 s';
  if (seconds < 10) return `${fixed(seconds, 1)} s`;
  if (seconds < 60) return `${fixed(seconds, 0)} s`;
  if (seconds < 3600) return `${fixed(seconds / 60, 1)} min`;
  return `${fixed(seconds / 3600, 1)} h`;
}

// ---- Markdown ----

function mdCell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

export function tableToMarkdown(table: Table): string {
  const lines = [`**${mdCell(table.title)}**`, ''];
  lines.push(`| ${table.columns.map((c) => mdCell(c.label)).join(' | ')} |`);
  lines.push(`|${table.columns.map((c) => (c.align === 'right' ? '---:' : ':---')).join('|')}|`);
  for (const group of table.groups) {
    for (const row of group) lines.push(`| ${row.cells.map(mdCell).join(' | ')} |`);
  }
  if (table.notes.length > 0) {
    lines.push('');
    for (const note of table.notes) lines.push(`- ${note}`);
  }
  return lines.join('\n') + '\n';
}

// ---- LaTeX ----

const LATEX_ESCAPES: Record<string, string> = {
  '\\': '\\textbackslash{}',
  '&': '\\&',
  '%': '\\%',
  $: '\\$',
  '#': '\\#',
  _: '\\_',
  '{': '\\{',
  '}': '\\}',
  '~': '\\textasciitilde{}',
  '^': '\\textasciicircum{}',
  '±': '$\\pm$',
  '<': '$<$',
  '>': '$>$',
  '—': '---',
  '–': '--',
  '×': '$\\times$',
  '≥': '$\\geq$',
};

/** Straight double quotes would typeset as two closing quotes: pair them as ``...''. */
export function latexEscape(text: string): string {
  return [...text]
    .map((ch) => LATEX_ESCAPES[ch] ?? ch)
    .join('')
    .replace(/"([^"]*)"/g, "``$1''");
}

export function tableToLatex(table: Table): string {
  const spec = table.columns.map((c) => (c.align === 'right' ? 'r' : 'l')).join('');
  const lines = [
    '\\begin{table}[htbp]',
    '\\centering',
    '\\small',
    // The title names the paper's table ("Table 2: ..."); a \\caption would number it again.
    `\\textbf{${latexEscape(table.title)}}\\par\\smallskip % ${table.id}`,
    // Shrinks a table only when it is wider than the line; graphicx provides \resizebox.
    '\\resizebox{\\ifdim\\width>\\linewidth\\linewidth\\else\\width\\fi}{!}{%',
    `\\begin{tabular}{${spec}}`,
    '\\toprule',
    `${table.columns.map((c) => latexEscape(c.label)).join(' & ')} \\\\`,
  ];
  for (const group of table.groups) {
    lines.push('\\midrule');
    for (const row of group) {
      const cells = row.cells.map((cell) => (row.published && cell !== '' ? `\\textit{${latexEscape(cell)}}` : latexEscape(cell)));
      lines.push(`${cells.join(' & ')} \\\\`);
    }
  }
  lines.push('\\bottomrule', '\\end{tabular}}');
  if (table.notes.length > 0) {
    lines.push('\\par\\smallskip', '\\begin{minipage}{\\linewidth}\\footnotesize');
    for (const note of table.notes) lines.push(`${latexEscape(note)}\\par`);
    lines.push('\\end{minipage}');
  }
  lines.push('\\end{table}');
  return lines.join('\n') + '\n';
}

// ---- HTML ----

export function htmlEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function tableToHtml(table: Table): string {
  const align = (c: TableColumn) => (c.align === 'right' ? ' class="num"' : '');
  const lines = [`<table id="${htmlEscape(table.id)}">`, `<caption>${htmlEscape(table.title)}</caption>`, '<thead><tr>'];
  lines.push(table.columns.map((c) => `<th${align(c)}>${htmlEscape(c.label)}</th>`).join(''));
  lines.push('</tr></thead>');
  for (const group of table.groups) {
    lines.push('<tbody>');
    for (const row of group) {
      const cells = row.cells.map((cell, i) => `<td${align(table.columns[i])}>${htmlEscape(cell)}</td>`).join('');
      lines.push(`<tr${row.published ? ' class="published"' : ''}>${cells}</tr>`);
    }
    lines.push('</tbody>');
  }
  lines.push('</table>');
  if (table.notes.length > 0) {
    lines.push('<ul class="notes">', ...table.notes.map((n) => `<li>${htmlEscape(n)}</li>`), '</ul>');
  }
  return lines.join('\n') + '\n';
}
