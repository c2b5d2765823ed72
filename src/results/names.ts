/**
 * Display names and a stable order for methods, tasks, layers and metrics. Every table,
 * chart and check walks keys in this order so a report regenerates
 * byte-identically and reads like the paper (baselines first, ours last).
 */

const METHOD_LABELS: Record<string, string> = {
  random: 'Random Gaussian',
  autoencoder: 'Autoencoder',
  'context-encoder': 'Context encoder',
  'context-encoder-adv': 'Context encoder (L2 + adversarial)',
};

const METHOD_ORDER = ['random', 'autoencoder', 'context-encoder', 'context-encoder-adv'];
const TASK_ORDER = ['pretext', 'classification', 'detection', 'segmentation', 'inpainting'];
/** The paper fine-tunes; that protocol comes first so it sits next to the published rows. */
const PROTOCOL_ORDER = ['finetune', 'frozen'];

export const TASK_LABELS: Record<string, string> = {
  pretext: 'Pretext',
  classification: 'Classification',
  detection: 'Detection',
  segmentation: 'Segmentation',
  inpainting: 'Inpainting',
};

/** The headline metric of each transfer task: Table 2's columns (abbreviated as in the paper) and the bar charts' groups. */
export const TRANSFER_TASKS: readonly { task: string; metric: string; label: string; column: string }[] = [
  { task: 'classification', metric: 'mAP', label: 'Classification mAP', column: 'Cls. mAP (%)' },
  { task: 'detection', metric: 'mAP', label: 'Detection mAP', column: 'Det. mAP (%)' },
  { task: 'segmentation', metric: 'meanIU', label: 'Segmentation mean IU', column: 'Seg. mean IU (%)' },
];

/** The names of the transfer tasks (TRANSFER_TASKS), for membership tests. */
export const TRANSFER_TASK_NAMES: ReadonlySet<string> = new Set(TRANSFER_TASKS.map((t) => t.task));

export function methodLabel(method: string): string {
  const known = METHOD_LABELS[method];
  if (known) return known;
  const words = method.replace(/[-_]+/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export function taskLabel(task: string): string {
  return TASK_LABELS[task] ?? task;
}

function byListThenName(order: readonly string[]): (a: string, b: string) => number {
  return (a, b) => {
    const ia = order.indexOf(a);
    const ib = order.indexOf(b);
    if (ia !== ib) return (ia < 0 ? order.length : ia) - (ib < 0 ? order.length : ib);
    return a < b ? -1 : a > b ? 1 : 0;
  };
}

export const compareMethods = byListThenName(METHOD_ORDER);
export const compareTasks = byListThenName(TASK_ORDER);
export const compareProtocols = byListThenName(PROTOCOL_ORDER);

/**
 * Encoder layers by depth, the number in their name (conv1 < pool1 < conv2 ...),
 * a layer before the pooling that follows it; '' (no layer) first. Results
 * know layer names only as strings: the encoders that define them sit above.
 */
export function compareLayers(a: string, b: string): number {
  const depth = (name: string) => Number(/(\d+)$/.exec(name)?.[1] ?? -1);
  const pooling = (name: string) => (name.startsWith('pool') ? 1 : 0);
  return depth(a) - depth(b) || pooling(a) - pooling(b) || compareStrings(a, b);
}

export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function sortedUnique(values: Iterable<string>, compare: (a: string, b: string) => number = compareStrings): string[] {
  return [...new Set(values)].sort(compare);
}
