/**
 * Builds the report's tables from loaded results: Table 2 (transfer), Table 1
 * (inpainting) in the paper's shape with the published rows beside ours,
 * per-layer probe tables beside Zhang et al.'s published per-layer rows, and
 * per-class AP / IoU tables.
 */
import { Aggregate, ExperimentResults, JobResult, keyOf, mean, sampleStd } from '../results/load.js';
import { compareLayers, compareMethods, compareProtocols, compareStrings, compareTasks, methodLabel, sortedUnique, taskLabel, TRANSFER_TASK_NAMES, TRANSFER_TASKS } from '../results/names.js';
import {
  PUBLISHED_INPAINTING,
  PUBLISHED_INPAINTING_NOTES,
  PUBLISHED_LINEAR_PROBE,
  PUBLISHED_LINEAR_PROBE_LAYERS,
  PUBLISHED_LINEAR_PROBE_NOTES,
  PUBLISHED_TRANSFER,
  PUBLISHED_TRANSFER_NOTES,
} from './paper-numbers.js';
import { fixed, formatDuration, formatMeanStd, Table, TableRow } from './tables.js';

const PROTOCOL_NOTES: Record<string, string> = {
  finetune: 'Protocol finetune: the whole network is fine-tuned from the pre-trained encoder, as in the paper.',
  frozen: 'Protocol frozen: the pre-trained encoder is kept fixed and only the new head is trained; the published rows are fine-tuned, so compare orderings, not values.',
  knn: 'Protocol knn: weighted k-nearest-neighbour vote on the frozen layer, average-pooled to about probeDims values (no training).',
  linear: "Protocol linear: one linear layer on the frozen layer, average-pooled to about probeDims values (Zhang et al.'s probe).",
};

function protocolSuffix(protocol: string): string {
  return protocol === '' ? '' : ` (protocol: ${protocol})`;
}

function stat(stats: Map<string, Aggregate>, method: string, task: string, protocol: string, metric: string, layer = ''): Aggregate | undefined {
  return stats.get(keyOf({ method, task, protocol, layer, metric }));
}

/** One column of Table 2 / category of the downstream chart: a task's headline metric at one encoder layer. */
export interface TransferColumn {
  task: string;
  metric: string;
  layer: string;
  /** The table's column header. */
  column: string;
  /** The chart's category label. */
  label: string;
}

/**
 * The headline metric of each transfer task, one column per encoder layer the
 * results have for it under `protocol` (the layer named only when there are
 * several); a task with no results keeps one empty column.
 */
export function transferColumns(results: ExperimentResults, protocol: string): TransferColumn[] {
  return TRANSFER_TASKS.flatMap(({ task, metric, label, column }) => {
    const layers = sortedUnique(
      results.rows.filter((r) => r.task === task && r.metric === metric && r.protocol === protocol).map((r) => r.layer),
      compareLayers,
    );
    if (layers.length <= 1) return [{ task, metric, layer: layers[0] ?? '', column, label }];
    return layers.map((layer) => ({ task, metric, layer, column: `${column} ${layer}`, label: `${label} (${layer})` }));
  });
}

function seedsLabel(n: number): string {
  return `ours, ${n} seed${n === 1 ? '' : 's'}`;
}

function publishedPercent(value: number | null, note?: string): string {
  if (value === null) return '';
  return note ? `${fixed(value, 1)} (${note})` : fixed(value, 1);
}

export function transferProtocols(results: ExperimentResults): string[] {
  const protocols = sortedUnique(results.rows.filter((r) => TRANSFER_TASK_NAMES.has(r.task)).map((r) => r.protocol), compareProtocols);
  return protocols.length > 0 ? protocols : [''];
}

const NOT_VOC_NOTE =
  "Pathak et al.'s Table 2 rows are not shown: they were measured on PASCAL VOC, and this experiment's transfer jobs ran on other data.";

/**
 * Whether the paper's Table 2 rows belong beside ours: they are PASCAL VOC
 * numbers, so not under a CIFAR-10 or image-folder experiment's columns. A
 * job folder written before config.json recorded the dataset counts as VOC,
 * as every experiment then was.
 */
function transferOnPascalVoc(results: ExperimentResults): boolean {
  const formats = results.jobs.filter((j) => j.task !== null && TRANSFER_TASK_NAMES.has(j.task)).map((j) => j.datasetFormat);
  return formats.length === 0 || formats.some((f) => f === null || f === 'voc');
}

/** Table 2, one per downstream protocol run. */
export function buildTransferTables(results: ExperimentResults, stats: Map<string, Aggregate>): Table[] {
  const tasks = new Set(['pretext', ...TRANSFER_TASK_NAMES]);
  const methods = sortedUnique(results.rows.filter((r) => tasks.has(r.task)).map((r) => r.method), compareMethods);
  const showPublished = transferOnPascalVoc(results);
  return transferProtocols(results).map((protocol) => {
    const columns = transferColumns(results, protocol);
    const groups: TableRow[][] = [];
    for (const method of methods) {
      const seeds = new Set(
        results.rows.filter((r) => r.method === method && (r.task === 'pretext' || (tasks.has(r.task) && r.protocol === protocol))).map((r) => r.seed),
      );
      const time = stat(stats, method, 'pretext', '', 'train_seconds');
      const cells = [
        methodLabel(method),
        seedsLabel(seeds.size),
        time ? formatDuration(time.mean) : '',
        ...columns.map(({ task, metric, layer }) => {
          const s = stat(stats, method, task, protocol, metric, layer);
          return s ? formatMeanStd(s, 100, 1) : '';
        }),
      ];
      const group: TableRow[] = [{ cells }];
      const published = showPublished ? PUBLISHED_TRANSFER.find((p) => p.method === method) : undefined;
      if (published) group.push(publishedTransferRow(published, columns));
      groups.push(group);
    }
    const others = PUBLISHED_TRANSFER.filter((p) => showPublished && (p.method === null || !methods.includes(p.method)));
    if (others.length > 0) groups.push(others.map((p) => publishedTransferRow(p, columns)));
    return {
      id: `table2${protocol ? `-${protocol}` : ''}`,
      title: `Table 2: transfer of pre-trained features${protocolSuffix(protocol)}`,
      columns: [
        { label: 'Pre-training', align: 'left' },
        { label: 'Source', align: 'left' },
        { label: 'Pre-training time', align: 'right' },
        ...columns.map((t) => ({ label: t.column, align: 'right' as const })),
      ],
      groups,
      notes: [
        'Ours: mean ± sample standard deviation over seeds; a value alone is a single seed; an empty cell is a task that was not run.',
        'Pre-training time: mean wall-clock seconds of the pretext job (metric train_seconds) on this machine.',
        ...(PROTOCOL_NOTES[protocol] ? [PROTOCOL_NOTES[protocol]] : []),
        ...(showPublished ? PUBLISHED_TRANSFER_NOTES : [NOT_VOC_NOTE]),
      ],
    };
  });
}

/** A published row under `columns`: the paper's number in the first column of its task (the paper reports one layer per task). */
function publishedTransferRow(p: (typeof PUBLISHED_TRANSFER)[number], columns: TransferColumn[]): TableRow {
  const published: Record<string, string> = {
    classification: publishedPercent(p.classification),
    detection: publishedPercent(p.detection),
    segmentation: publishedPercent(p.segmentation, p.segmentationNote),
  };
  return {
    published: true,
    cells: [p.label, 'published', p.pretrainTime, ...columns.map((c, i) => (columns.findIndex((o) => o.task === c.task) === i ? (published[c.task] ?? '') : ''))],
  };
}

/**
 * Mean fill does not depend on the method, so each seed's value is the mean
 * over the methods that reported it; the spread is then over seeds.
 */
function meanFillStats(results: ExperimentResults, protocol: string, metric: string): { mean: number; std: number; n: number } | null {
  const bySeed = new Map<number, number[]>();
  for (const r of results.rows) {
    if (r.task !== 'inpainting' || r.protocol !== protocol || r.metric !== metric) continue;
    const list = bySeed.get(r.seed) ?? [];
    list.push(r.value);
    bySeed.set(r.seed, list);
  }
  const values = [...bySeed.keys()].sort((a, b) => a - b).map((seed) => mean(bySeed.get(seed)!));
  return values.length === 0 ? null : { mean: mean(values), std: sampleStd(values), n: values.length };
}

/** Table 1: inpainting quality, ours and the mean-fill baseline beside the published rows. */
export function buildInpaintingTable(results: ExperimentResults, stats: Map<string, Aggregate>): Table {
  const rows = results.rows.filter((r) => r.task === 'inpainting');
  const protocols = sortedUnique(rows.map((r) => r.protocol), compareProtocols);
  const showProtocol = protocols.length > 1;
  const groups: TableRow[][] = [];
  const metrics: [string, number, number][] = [
    ['l1', 100, 2],
    ['l2', 100, 2],
    ['psnr', 1, 2],
  ];
  for (const protocol of protocols) {
    const suffix = showProtocol && protocol ? ` [${protocol}]` : '';
    const group: TableRow[] = [];
    for (const method of sortedUnique(rows.filter((r) => r.protocol === protocol).map((r) => r.method), compareMethods)) {
      const seeds = new Set(rows.filter((r) => r.method === method && r.protocol === protocol).map((r) => r.seed));
      const cells = metrics.map(([metric, scale, digits]) => {
        const s = stat(stats, method, 'inpainting', protocol, metric);
        return s ? formatMeanStd(s, scale, digits) : '';
      });
      if (cells.some((c) => c !== '')) group.push({ cells: [methodLabel(method) + suffix, seedsLabel(seeds.size), ...cells] });
    }
    const fill = metrics.map(([metric, scale, digits]) => {
      const s = meanFillStats(results, protocol, `baseline_${metric}`);
      return s ? formatMeanStd(s, scale, digits) : '';
    });
    if (fill.some((c) => c !== '')) {
      const seeds = new Set(rows.filter((r) => r.protocol === protocol && r.metric.startsWith('baseline_')).map((r) => r.seed));
      group.push({ cells: [`Mean fill (dataset mean colour)${suffix}`, seedsLabel(seeds.size), ...fill] });
    }
    if (group.length > 0) groups.push(group);
  }
  groups.push(
    PUBLISHED_INPAINTING.map((p) => ({ published: true, cells: [p.label, 'published', fixed(p.l1, 2), fixed(p.l2, 2), fixed(p.psnr, 2)] })),
  );
  return {
    id: 'table1',
    title: 'Table 1: semantic inpainting, centre region',
    columns: [
      { label: 'Method', align: 'left' },
      { label: 'Source', align: 'left' },
      { label: 'Mean L1 (%)', align: 'right' },
      { label: 'Mean L2 (%)', align: 'right' },
      { label: 'PSNR (dB)', align: 'right' },
    ],
    groups,
    notes: [
      rows.length === 0
        ? 'No inpainting job was run in this experiment: only the published rows are shown.'
        : 'Ours: over the hole only, intensities in [0, 1], per-image scores averaged; mean ± sample standard deviation over seeds.',
      ...PUBLISHED_INPAINTING_NOTES,
    ],
  };
}

/**
 * One per-layer comparison (Zhang et al.'s figure): a transfer task's metric
 * under one protocol at every layer the results hold it for, when there are
 * two or more. Accuracy where the task reported it (one class per image),
 * else the task's headline metric.
 */
export interface PerLayerData {
  task: string;
  protocol: string;
  metric: string;
  /** Input to output (compareLayers). */
  layers: string[];
  methods: string[];
  /** method -> its aggregate at each of `layers` (undefined: not run there). */
  cells: Map<string, (Aggregate | undefined)[]>;
}

export function collectPerLayer(results: ExperimentResults, stats: Map<string, Aggregate>): PerLayerData[] {
  const data: PerLayerData[] = [];
  for (const protocol of transferProtocols(results)) {
    for (const { task, metric: headline } of TRANSFER_TASKS) {
      const rows = results.rows.filter((r) => r.task === task && r.protocol === protocol && r.layer !== '');
      const metric = rows.some((r) => r.metric === 'accuracy') ? 'accuracy' : headline;
      const layers = sortedUnique(rows.filter((r) => r.metric === metric).map((r) => r.layer), compareLayers);
      if (layers.length < 2) continue;
      const methods = sortedUnique(rows.filter((r) => r.metric === metric).map((r) => r.method), compareMethods);
      const cells = new Map(methods.map((method) => [method, layers.map((layer) => stat(stats, method, task, protocol, metric, layer))]));
      data.push({ task, protocol, metric, layers, methods, cells });
    }
  }
  return data;
}

/** Title and file/id slug of a per-layer comparison. */
export function perLayerTitle(d: PerLayerData): string {
  return `Per-layer ${d.metric} (%): ${taskLabel(d.task).toLowerCase()}${protocolSuffix(d.protocol)}`;
}

export function perLayerSlug(d: PerLayerData): string {
  return `${d.task}-${d.metric}${d.protocol ? `-${d.protocol}` : ''}`.toLowerCase();
}

export function buildPerLayerTables(data: readonly PerLayerData[]): Table[] {
  return data.map((d) => ({
    id: `per-layer-${perLayerSlug(d)}`,
    title: perLayerTitle(d),
    columns: [{ label: 'Pre-training', align: 'left' as const }, { label: 'Source', align: 'left' as const }, ...d.layers.map((l) => ({ label: l, align: 'right' as const }))],
    groups: [
      d.methods.map((method) => {
        const cells = d.cells.get(method)!;
        const seeds = Math.max(...cells.map((c) => c?.n ?? 0));
        return { cells: [methodLabel(method), seedsLabel(seeds), ...cells.map((c) => (c ? formatMeanStd(c, 100, 1) : ''))] };
      }),
    ],
    notes: [
      'Ours: mean ± sample standard deviation over seeds at each encoder layer; an empty cell is a layer the method was not run at.',
      ...(PROTOCOL_NOTES[d.protocol] ? [PROTOCOL_NOTES[d.protocol]] : []),
    ],
  }));
}

/** Zhang et al.'s ImageNet linear probe per AlexNet layer: a different dataset and network size, so the shape compares, not the values. */
export function buildPublishedPerLayerTable(): Table {
  const cell = (v: { value: number; fromTable?: boolean }) => `${fixed(v.value, 1)}${v.fromTable ? '*' : ''}`;
  return {
    id: 'per-layer-published-imagenet',
    title: 'Published per-layer linear probe (ImageNet, full AlexNet): top-1 accuracy (%)',
    columns: [{ label: 'Pre-training', align: 'left' }, { label: 'Source', align: 'left' }, ...PUBLISHED_LINEAR_PROBE_LAYERS.map((l) => ({ label: l, align: 'right' as const }))],
    groups: [PUBLISHED_LINEAR_PROBE.map((p) => ({ published: true, cells: [p.label, 'published', ...PUBLISHED_LINEAR_PROBE_LAYERS.map((l) => cell(p.values[l]))] }))],
    notes: [...PUBLISHED_LINEAR_PROBE_NOTES],
  };
}

export interface PerClassData {
  task: string;
  protocol: string;
  /** '' for jobs without an encoder layer. */
  layer: string;
  metric: string;
  classes: string[];
  methods: string[];
  /** method -> class -> values over seeds */
  values: Map<string, Map<string, number[]>>;
}

/** Per-class values from metrics.json, grouped by (task, protocol, layer, metric); classes in the order the jobs wrote them. */
export function collectPerClass(jobs: readonly JobResult[]): PerClassData[] {
  const groups = new Map<string, PerClassData>();
  for (const job of jobs) {
    if (job.stage !== 'downstream' || job.task === null) continue;
    for (const [metric, classes] of Object.entries(job.perClass)) {
      const protocol = job.protocol ?? '';
      const layer = job.layer ?? '';
      const id = [job.task, protocol, layer, metric].join('\u0000');
      let data = groups.get(id);
      if (!data) groups.set(id, (data = { task: job.task, protocol, layer, metric, classes: [], methods: [], values: new Map() }));
      if (!data.methods.includes(job.method)) data.methods.push(job.method);
      let byClass = data.values.get(job.method);
      if (!byClass) data.values.set(job.method, (byClass = new Map()));
      for (const [cls, value] of Object.entries(classes)) {
        if (!data.classes.includes(cls)) data.classes.push(cls);
        const list = byClass.get(cls) ?? [];
        list.push(value);
        byClass.set(cls, list);
      }
    }
  }
  return [...groups.values()]
    .map((d) => ({ ...d, methods: d.methods.sort(compareMethods) }))
    .sort((a, b) => compareTasks(a.task, b.task) || compareProtocols(a.protocol, b.protocol) || compareLayers(a.layer, b.layer) || compareStrings(a.metric, b.metric));
}

/** Per-class groups of a task that ran at several layers name their layer; the others read as before layers were part of the key. */
function layerShown(d: PerClassData, all: readonly PerClassData[]): boolean {
  return d.layer !== '' && all.some((o) => o !== d && o.task === d.task && o.protocol === d.protocol && o.metric === d.metric && o.layer !== d.layer);
}

export function perClassTitle(d: PerClassData, all: readonly PerClassData[]): string {
  const layer = layerShown(d, all) ? `, layer ${d.layer}` : '';
  return `Per-class ${d.metric} (%): ${taskLabel(d.task).toLowerCase()}${protocolSuffix(d.protocol)}${layer}`;
}

/** File and table id suffix of a per-class group: task, metric, protocol and, when shown, layer. */
export function perClassSlug(d: PerClassData, all: readonly PerClassData[]): string {
  return `${d.task}-${d.metric}${d.protocol ? `-${d.protocol}` : ''}${layerShown(d, all) ? `-${d.layer}` : ''}`;
}

export function buildPerClassTables(data: readonly PerClassData[]): Table[] {
  return data.map((d) => ({
    id: `per-class-${perClassSlug(d, data)}`.toLowerCase(),
    title: perClassTitle(d, data),
    columns: [{ label: 'Class', align: 'left' as const }, ...d.methods.map((m) => ({ label: methodLabel(m), align: 'right' as const }))],
    groups: [
      d.classes.map((cls) => ({
        cells: [
          cls,
          ...d.methods.map((m) => {
            const values = d.values.get(m)?.get(cls);
            return values && values.length > 0 ? formatMeanStd({ mean: mean(values), std: sampleStd(values), n: values.length }, 100, 1) : '';
          }),
        ],
      })),
    ],
    notes: ['Mean ± sample standard deviation over seeds; an empty cell is a class the method did not report.'],
  }));
}
