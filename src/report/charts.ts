/**
 * Charts as PNG: chart.js 4 drawn on an @napi-rs/canvas canvas, no browser.
 * Deterministic by construction: no animation, fixed size and pixel ratio,
 * one font family, colours fixed by series order, so the same numbers give
 * the same bytes.
 */
import { createCanvas, GlobalFonts } from '@napi-rs/canvas';
import { Chart, ChartConfiguration, Plugin, registerables } from 'chart.js';
import { Aggregate, ExperimentResults, keyOf, mean, sampleStd } from '../results/load.js';
import { PerClassData, perClassSlug, perClassTitle, PerLayerData, perLayerSlug, perLayerTitle, transferColumns } from './content.js';
import type { ReportImage } from './document.js';
import { compareMethods, methodLabel, sortedUnique } from '../results/names.js';

Chart.register(...registerables);

/** DejaVu Sans ships with most Linux images; pinning one family keeps text metrics, and so the bytes, stable. */
const FONT_FAMILY = GlobalFonts.has('DejaVu Sans') ? 'DejaVu Sans' : 'sans-serif';
Chart.defaults.font.family = FONT_FAMILY;
Chart.defaults.font.size = 14;
Chart.defaults.color = '#222222';

/** Tableau 10: distinguishable, and readable in greyscale print. */
const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];

export function seriesColor(index: number): string {
  return PALETTE[index % PALETTE.length];
}

const whiteBackground: Plugin = {
  id: 'whiteBackground',
  beforeDraw(chart) {
    const { ctx, width, height } = chart;
    ctx.save();
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(0, 0, width, height);
    ctx.restore();
  },
};

/**
 * chart.js has no error bars: draw mean ± std whiskers over each bar or line
 * point after the datasets. `colours` draws each series' whiskers in its own
 * colour (lines, whose points share an x and whose whiskers overlap); else black.
 */
function errorBars<T extends 'bar' | 'line'>(errors: readonly (readonly (number | null)[])[], colours?: readonly string[]): Plugin<T> {
  return {
    id: 'errorBars',
    afterDatasetsDraw(chart) {
      const { ctx } = chart;
      ctx.save();
      ctx.lineWidth = 1.5;
      chart.data.datasets.forEach((dataset, i) => {
        ctx.strokeStyle = colours?.[i] ?? '#222222';
        const meta = chart.getDatasetMeta(i);
        const scale = chart.scales[meta.yAxisID ?? 'y'];
        meta.data.forEach((element, j) => {
          const value = dataset.data[j];
          const err = errors[i]?.[j];
          if (typeof value !== 'number' || err === null || err === undefined || !(err > 0)) return;
          // Bars have a width to scale the caps by; line points do not.
          const barWidth = (element as unknown as { width?: number }).width;
          const cap = barWidth === undefined ? 5 : Math.max(2, Math.min(6, barWidth / 3));
          const top = scale.getPixelForValue(value + err);
          const bottom = scale.getPixelForValue(value - err);
          ctx.beginPath();
          ctx.moveTo(element.x, top);
          ctx.lineTo(element.x, bottom);
          ctx.moveTo(element.x - cap, top);
          ctx.lineTo(element.x + cap, top);
          ctx.moveTo(element.x - cap, bottom);
          ctx.lineTo(element.x + cap, bottom);
          ctx.stroke();
        });
      });
      ctx.restore();
    },
  };
}

function render<T extends 'bar' | 'line'>(width: number, height: number, config: ChartConfiguration<T>): Uint8Array {
  const canvas = createCanvas(width, height);
  // chart.js types its context as the DOM one; napi-rs implements the same drawing API.
  const chart = new Chart(canvas.getContext('2d') as unknown as CanvasRenderingContext2D, config);
  const png = canvas.toBuffer('image/png');
  chart.destroy();
  return new Uint8Array(png.buffer, png.byteOffset, png.byteLength);
}

function titleOptions(text: string) {
  return { display: true, text, font: { size: 18, weight: 'bold' as const }, padding: { top: 6, bottom: 10 } };
}

/** What every chart here shares: drawn once at its pixel size (no animation, no resizing), a title, the legend on top. */
function staticChartOptions(title: string) {
  return { animation: false as const, responsive: false, devicePixelRatio: 1, plugins: { title: titleOptions(title), legend: { position: 'top' as const } } };
}

export interface BarSeries {
  label: string;
  color: string;
  values: (number | null)[];
  errors: (number | null)[];
}

export interface BarChartOptions {
  title: string;
  yLabel: string;
  categories: string[];
  series: BarSeries[];
  width?: number;
  height?: number;
}

export function renderBarChart(opts: BarChartOptions): Uint8Array {
  const tops = opts.series.flatMap((s) => s.values.map((v, i) => (v === null ? 0 : v + (s.errors[i] ?? 0))));
  const config: ChartConfiguration<'bar'> = {
    type: 'bar',
    data: {
      labels: opts.categories,
      datasets: opts.series.map((s) => ({ label: s.label, data: s.values, backgroundColor: s.color, borderColor: s.color, borderWidth: 1 })),
    },
    options: {
      ...staticChartOptions(opts.title),
      scales: {
        x: { ticks: { autoSkip: false, maxRotation: 60, minRotation: 0 }, grid: { display: false } },
        y: {
          beginAtZero: true,
          suggestedMax: Math.max(0, ...tops) * 1.08,
          title: { display: true, text: opts.yLabel },
          grid: { color: '#e6e6e6' },
        },
      },
    },
    plugins: [whiteBackground, errorBars<'bar'>(opts.series.map((s) => s.errors))],
  };
  return render(opts.width ?? 900, opts.height ?? 520, config);
}

export interface LineSeries {
  label: string;
  color: string;
  points: { x: number; y: number }[];
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: LineSeries[];
  width?: number;
  height?: number;
}

export function renderLineChart(opts: LineChartOptions): Uint8Array {
  const config: ChartConfiguration<'line'> = {
    type: 'line',
    data: {
      datasets: opts.series.map((s) => ({
        label: s.label,
        data: s.points,
        borderColor: s.color,
        backgroundColor: s.color,
        borderWidth: 2,
        pointRadius: s.points.length > 40 ? 0 : 2,
        tension: 0,
      })),
    },
    options: {
      ...staticChartOptions(opts.title),
      scales: {
        x: { type: 'linear', title: { display: true, text: opts.xLabel }, grid: { color: '#e6e6e6' } },
        y: { title: { display: true, text: opts.yLabel }, grid: { color: '#e6e6e6' } },
      },
    },
    plugins: [whiteBackground],
  };
  return render(opts.width ?? 900, opts.height ?? 520, config);
}

/**
 * One line per series over named categories (encoder layers, input to
 * output), with ± error whiskers at each point; a null value leaves a gap.
 */
export function renderCategoryLineChart(opts: BarChartOptions): Uint8Array {
  const ends = opts.series.flatMap((s) => s.values.flatMap((v, i) => (v === null ? [] : [v - (s.errors[i] ?? 0), v + (s.errors[i] ?? 0)])));
  const config: ChartConfiguration<'line'> = {
    type: 'line',
    data: {
      labels: opts.categories,
      datasets: opts.series.map((s) => ({
        label: s.label,
        data: s.values,
        borderColor: s.color,
        backgroundColor: s.color,
        borderWidth: 2,
        pointRadius: 4,
        tension: 0,
        spanGaps: false,
      })),
    },
    options: {
      ...staticChartOptions(opts.title),
      scales: {
        // offset: half a category of room each side, so the first and last points and their labels are not clipped.
        x: { offset: true, title: { display: true, text: 'encoder layer' }, grid: { display: false } },
        y: {
          suggestedMin: ends.length > 0 ? Math.min(...ends) - 1 : undefined,
          suggestedMax: ends.length > 0 ? Math.max(...ends) + 1 : undefined,
          title: { display: true, text: opts.yLabel },
          grid: { color: '#e6e6e6' },
        },
      },
    },
    plugins: [whiteBackground, errorBars<'line'>(opts.series.map((s) => s.errors), opts.series.map((s) => s.color))],
  };
  return render(opts.width ?? 900, opts.height ?? 520, config);
}

// ---- The report's charts ----

/** Colour per method, by its place among all methods of the experiment, so a method keeps its colour across charts. */
export function methodColors(results: ExperimentResults): Map<string, string> {
  const methods = sortedUnique(results.rows.map((r) => r.method), compareMethods);
  return new Map(methods.map((m, i) => [m, seriesColor(i)]));
}

export function fileSafe(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
}

/** Pretext loss per method: at each logged step, the mean over the seeds that logged it. */
export function pretextLossChart(results: ExperimentResults, colors: Map<string, string>): ReportImage | null {
  const byMethod = new Map<string, Map<number, number[]>>();
  for (const job of results.jobs) {
    if (job.stage !== 'pretext' || !job.log || job.log.length === 0) continue;
    const steps = byMethod.get(job.method) ?? new Map<number, number[]>();
    for (const row of job.log) steps.set(row.step, [...(steps.get(row.step) ?? []), row.loss]);
    byMethod.set(job.method, steps);
  }
  if (byMethod.size === 0) return null;
  const series = [...byMethod.keys()].sort(compareMethods).map((method) => {
    const steps = byMethod.get(method)!;
    const seeds = new Set(results.jobs.filter((j) => j.stage === 'pretext' && j.method === method && j.log).map((j) => j.seed)).size;
    return {
      label: `${methodLabel(method)} (${seeds} seed${seeds === 1 ? '' : 's'})`,
      color: colors.get(method) ?? seriesColor(0),
      points: [...steps.keys()].sort((a, b) => a - b).map((x) => ({ x, y: mean(steps.get(x)!) })),
    };
  });
  return {
    file: 'charts/pretext-loss.png',
    caption: 'Pretext training loss per method (mean over seeds at each logged step).',
    png: renderLineChart({ title: 'Pretext training loss', xLabel: 'step', yLabel: 'loss', series }),
  };
}

/** Headline metric per transfer task and method, with ± one std over seeds as whiskers. */
export function downstreamBarCharts(
  results: ExperimentResults,
  stats: Map<string, Aggregate>,
  protocols: string[],
  colors: Map<string, string>,
): ReportImage[] {
  const images: ReportImage[] = [];
  for (const protocol of protocols) {
    const tasks = transferColumns(results, protocol).filter(({ task, metric, layer }) =>
      results.rows.some((r) => r.task === task && r.metric === metric && r.protocol === protocol && r.layer === layer),
    );
    if (tasks.length === 0) continue;
    const methods = sortedUnique(
      results.rows.filter((r) => r.protocol === protocol && tasks.some((t) => t.task === r.task)).map((r) => r.method),
      compareMethods,
    );
    const series = methods.map((method) => {
      const cells = tasks.map(({ task, metric, layer }) => stats.get(keyOf({ method, task, protocol, layer, metric })));
      return {
        label: methodLabel(method),
        color: colors.get(method) ?? seriesColor(0),
        values: cells.map((s) => (s ? s.mean * 100 : null)),
        errors: cells.map((s) => (s && s.n > 1 ? s.std * 100 : null)),
      };
    });
    const suffix = protocol ? ` (${protocol})` : '';
    images.push({
      file: `charts/downstream${protocol ? `-${fileSafe(protocol)}` : ''}.png`,
      caption: `Downstream results per method${suffix}: mean over seeds, whiskers ± one sample standard deviation.`,
      png: renderBarChart({ title: `Downstream tasks${suffix}`, yLabel: 'score (%)', categories: tasks.map((t) => t.label), series }),
    });
  }
  return images;
}

export function perClassCharts(data: readonly PerClassData[], colors: Map<string, string>): ReportImage[] {
  return data.map((d) => {
    const series = d.methods.map((method) => {
      const values = d.classes.map((cls) => d.values.get(method)?.get(cls) ?? []);
      return {
        label: methodLabel(method),
        color: colors.get(method) ?? seriesColor(0),
        values: values.map((v) => (v.length > 0 ? mean(v) * 100 : null)),
        errors: values.map((v) => (v.length > 1 ? sampleStd(v) * 100 : null)),
      };
    });
    const title = perClassTitle(d, data);
    return {
      file: `charts/per-class-${fileSafe(perClassSlug(d, data))}.png`,
      caption: `${title}: mean over seeds, whiskers ± one sample standard deviation.`,
      png: renderBarChart({
        title,
        yLabel: `${d.metric} (%)`,
        categories: d.classes,
        series,
        width: Math.max(900, 60 + d.classes.length * (20 + 14 * d.methods.length)),
        height: 560,
      }),
    };
  });
}

/** The series of a per-layer chart: per method, the mean over seeds at each layer (percent) and its sample std as whiskers. */
export function perLayerSeries(d: PerLayerData, colors: Map<string, string>): BarSeries[] {
  return d.methods.map((method) => {
    const cells = d.cells.get(method)!;
    return {
      label: methodLabel(method),
      color: colors.get(method) ?? seriesColor(0),
      values: cells.map((c) => (c ? c.mean * 100 : null)),
      errors: cells.map((c) => (c && c.n > 1 ? c.std * 100 : null)),
    };
  });
}

/** Zhang et al.'s figure for our results: layer on x, the metric on y, one line per method. */
export function perLayerCharts(data: readonly PerLayerData[], colors: Map<string, string>): ReportImage[] {
  return data.map((d) => ({
    file: `charts/per-layer-${fileSafe(perLayerSlug(d))}.png`,
    caption: `${perLayerTitle(d)}: mean over seeds at each encoder layer, whiskers ± one sample standard deviation.`,
    png: renderCategoryLineChart({ title: perLayerTitle(d), yLabel: `${d.metric} (%)`, categories: d.layers, series: perLayerSeries(d, colors) }),
  }));
}
