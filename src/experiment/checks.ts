/**
 * Load-time checks the schema cannot express, each derived from what the
 * registries declare: what a task or method needs of its dataset's format,
 * of the pretext job and of the model's generator (an encoder to read),
 * protocol fields without their protocol, each method's, protocol's and
 * task's own checks, and result keys that two entries share.
 */
import { DATASET_FORMATS } from '../data/formats/index.js';
import type { DatasetCapabilities } from '../data/formats/types.js';
import { DOWNSTREAM_TASKS, protocolsFor, PROTOCOLS } from '../downstream/index.js';
import { generatorOf } from '../models/generators/index.js';
import { PRETEXT_METHODS } from '../pretext/index.js';
import { expandEntry } from './plan.js';
import type { DownstreamConfig, Experiment } from './types.js';

const CAPABILITY_NAMES: Record<keyof DatasetCapabilities, string> = {
  labels: 'class labels',
  multiLabel: 'several labels per image',
  boxes: 'object boxes',
  labelMaps: 'label maps',
};

/** "needs X, which only datasets of format ... have; <key> is format <f>", for each capability `needs` asks and the dataset lacks. */
function missingCapabilities(needs: Partial<DatasetCapabilities>, datasetKey: string, format: string, who: string): string[] {
  const provides = DATASET_FORMATS.get(format).provides;
  return (Object.keys(CAPABILITY_NAMES) as (keyof DatasetCapabilities)[])
    .filter((c) => needs[c] && !provides[c])
    .map((c) => {
      const having = DATASET_FORMATS.all().filter((f) => f.provides[c]).map((f) => `"${f.name}"`);
      return `${who} needs ${CAPABILITY_NAMES[c]}, which only datasets of format ${having.join(' or ')} have; "${datasetKey}" is format "${format}"`;
    });
}

type Entries = Omit<Experiment, 'file'>;

export function checkExperiment(exp: Entries, written: Entries): string[] {
  const problems: string[] = [];
  const generator = generatorOf(exp.model);
  const datasetNames = Object.keys(exp.datasets);
  const datasetOf = (key: string | undefined) => key ?? datasetNames[0];
  const names = new Set<string>();
  exp.pretext.forEach((p, i) => {
    const name = p.name ?? p.method;
    if (names.has(name)) problems.push(`/pretext/${i}/name: "${name}" is used twice; give each entry its own name`);
    names.add(name);
    const key = datasetOf(p.dataset);
    if (!datasetNames.includes(key)) {
      problems.push(`/pretext/${i}/dataset: "${key}" is not a key of /datasets (${datasetNames.join(', ')})`);
      return;
    }
    const method = PRETEXT_METHODS.get(p.method);
    for (const m of missingCapabilities(method.needs, key, exp.datasets[key].format, `pretext method ${method.name}`)) problems.push(`/pretext/${i}/dataset: ${m}`);
    // A method without a generator trains the model's encoder alone.
    if (!generator.encoder && !method.produces.generator) {
      problems.push(`/pretext/${i}/method: ${method.name} trains the model's encoder, which the ${generator.name} generator (/model/generator) does not have; remove the entry or the generator`);
    }
    for (const m of method.check?.(p, exp.model) ?? []) problems.push(`/pretext/${i}/${m}`);
  });

  const results = new Map<string, string>();
  (exp.downstream ?? []).forEach((d, i) => {
    const at = `/downstream/${i}`;
    const task = DOWNSTREAM_TASKS.get(d.task);
    const key = datasetOf(d.dataset);
    if (!datasetNames.includes(key)) {
      problems.push(`${at}/dataset: "${key}" is not a key of /datasets (${datasetNames.join(', ')})`);
    } else {
      for (const m of missingCapabilities(task.needs, key, exp.datasets[key].format, task.name)) problems.push(`${at}/dataset: ${m}`);
    }
    if (task.layer !== null && !generator.encoder) {
      problems.push(`${at}/task: ${task.name} reads the pretext encoder's layers, and the ${generator.name} generator (/model/generator) has no encoder; remove the task or the generator`);
    }
    if (task.needs.generator) {
      exp.pretext.forEach((p, j) => {
        if (!PRETEXT_METHODS.get(p.method).produces.generator) {
          problems.push(`${at}/task: ${task.name} scores a generator, which pretext method "${p.method}" (/pretext/${j}) does not produce; remove the task or that method`);
        }
      });
    }
    if (d.layer !== undefined && d.layers !== undefined) problems.push(`${at}/layers: give layer or layers, not both`);
    const raw = (written.downstream ?? [])[i] as DownstreamConfig;
    if (task.usesProtocols) {
      // A field several protocols declare (probeDims) is fine when any of them runs.
      const readers = new Map<string, string[]>();
      for (const protocol of protocolsFor(task)) {
        for (const field of Object.keys(protocol.config.properties)) readers.set(field, [...(readers.get(field) ?? []), protocol.name]);
      }
      for (const [field, names] of readers) {
        if (raw[field] === undefined || names.some((n) => d.protocols!.includes(n))) continue;
        const who = names.length === 1 ? `the ${names[0]} protocol reads` : `the ${names.join(' and ')} protocols read`;
        problems.push(`${at}/${field}: only ${who} it, and protocols is ${JSON.stringify(d.protocols)}; add "${names[0]}" or remove ${field}`);
      }
    }
    for (const p of task.check?.(d, exp.model) ?? []) problems.push(`${at}/${p}`);
    for (const job of expandEntry(d, i)) {
      if (job.protocol !== null && job.layer !== null) {
        for (const p of PROTOCOLS.get(job.protocol).check?.(d, job.layer) ?? []) problems.push(`${at}/${p}`);
      }
      const result = `${d.task}${job.protocol ? `/${job.protocol}` : ''}${job.layer ? ` at layer ${job.layer}` : ''}`;
      const first = results.get(result);
      if (first) {
        problems.push(`${job.path}: gives the same results as ${first} (${result}), which would overwrite each other; results are keyed by task, protocol and layer: merge the entries or change one`);
      } else {
        results.set(result, job.path);
      }
    }
  });
  for (const [key, ds] of Object.entries(exp.datasets)) {
    const synth = ds.synthesize;
    if (synth && synth.size !== undefined && (synth.minSide !== undefined || synth.maxSide !== undefined)) {
      problems.push(`/datasets/${key}/synthesize: give either size (square images) or minSide/maxSide, not both`);
    }
    if (synth && (synth.minSide ?? 0) > (synth.maxSide ?? Infinity)) {
      problems.push(`/datasets/${key}/synthesize/minSide: ${synth.minSide} is larger than maxSide ${synth.maxSide}`);
    }
  }
  return problems;
}
