/**
 * The experiment's JSON Schema, built from the registries: each pretext
 * method, task, protocol, dataset format and encoder contributes its own
 * fields, so a new one never edits the schema. src/experiment/schema.json is
 * this schema written out for editors (`npm run schema`; a test keeps it
 * current); validation always uses the live one, which also holds entries
 * registered at run time (e.g. by tests).
 */
import { DATASET_FORMATS } from '../data/formats/index.js';
import { CHECKPOINT_EVERY_FIELD, DEFAULT_LAYER } from '../downstream/config.js';
import { DOWNSTREAM_TASKS, protocolsFor } from '../downstream/index.js';
import { DEFAULT_ENCODER, ENCODER_LAYERS, ENCODERS } from '../models/encoders/index.js';
import { DEFAULT_GENERATOR, GENERATORS } from '../models/generators/index.js';
import { COMMON_PRETEXT_FIELDS } from '../pretext/config.js';
import { PRETEXT_METHODS } from '../pretext/index.js';
import type { ConfigFragment, JsonSchema } from '../registry/registry.js';

/**
 * One branch per registered entry: when `field` names it, its fields (and
 * only they) are allowed. `when` adds conditions on other fields for every
 * branch (the encoder's branches apply only to generators built on it).
 */
function branches(field: string, entries: { name: string; fields: ConfigFragment; isDefault?: boolean }[], when: Record<string, JsonSchema> = {}): JsonSchema[] {
  return entries.map(({ name, fields, isDefault }) => ({
    // The default entry's branch also applies when the field is absent.
    if: { properties: { [field]: { const: name }, ...when }, ...(isDefault ? {} : { required: [field] }) },
    then: {
      properties: { [field]: {}, ...fields.properties },
      ...(fields.required && fields.required.length > 0 ? { required: fields.required } : {}),
      additionalProperties: false,
    },
  }));
}

/** "name: description" of each entry that has one, for the schema's description of the field naming them. */
function describeEntries(entries: { name: string; description?: string }[], prefix = ''): JsonSchema {
  const described = entries.filter((e) => e.description).map((e) => `${e.name}: ${e.description}`);
  return described.length > 0 || prefix ? { description: `${prefix}${described.join('; ')}`.trim() } : {};
}

function merge(...fragments: ConfigFragment[]): ConfigFragment {
  return {
    properties: Object.assign({}, ...fragments.map((f) => f.properties)),
    required: fragments.flatMap((f) => f.required ?? []),
    paths: fragments.flatMap((f) => f.paths ?? []),
  };
}

function datasetSchema(): JsonSchema {
  const common: ConfigFragment = {
    properties: {
      root: { type: 'string', minLength: 1 },
      onBadSample: {
        enum: ['stop', 'skip'],
        description:
          'A sample that cannot be read (image missing, truncated or not an image; annotation XML malformed or incomplete; label map of the wrong size or labels): stop naming the file (default), or skip it and report every skipped file in the job\'s metrics.json and at the end of the run.',
      },
    },
  };
  const synthesize: ConfigFragment = {
    properties: {
      synthesize: {
        type: 'object',
        additionalProperties: false,
        required: ['images', 'seed'],
        description: 'Generate a synthetic dataset at root when it is not there yet, or holds the generator\'s output for other settings (formats that can synthesize).',
        properties: {
          images: { type: 'integer', minimum: 8 },
          size: { type: 'integer', minimum: 32, maximum: 1024, description: 'Square images of this side (instead of minSide/maxSide).' },
          minSide: { type: 'integer', minimum: 32, maximum: 1024, description: 'Shorter side drawn from minSide..maxSide (default 300).' },
          maxSide: { type: 'integer', minimum: 32, maximum: 1024, description: 'Longer side of every image (default 500); about 70% landscape, 30% portrait, as VOC.' },
          seed: { type: 'integer', minimum: 0 },
          classes: { type: 'integer', minimum: 2, maximum: 20 },
        },
      },
    },
  };
  const formats = DATASET_FORMATS.all();
  return {
    type: 'object',
    required: ['format', 'root'],
    properties: {
      format: { enum: formats.map((f) => f.name), ...describeEntries(formats) },
    },
    allOf: branches(
      'format',
      formats.map((f) => ({ name: f.name, fields: merge(common, f.synthesize ? synthesize : { properties: {} }, f.config ?? { properties: {} }) })),
    ),
  };
}

function modelSchema(): JsonSchema {
  const common: ConfigFragment = {
    properties: {
      inputSize: { type: 'integer', minimum: 67, maximum: 512, default: 227, description: 'Encoder input side in pixels (AlexNet: 227).' },
      decoderWidths: {
        type: 'array',
        minItems: 5,
        maxItems: 5,
        items: { type: 'integer', minimum: 1 },
        description: 'Channels of the five up-convolutions; the last is 3 (RGB).',
      },
    },
  };
  const encoders = ENCODERS.all();
  const generators = GENERATORS.all();
  // A generator without fields of its own (the default) is built on the model's encoder, whose fields it takes.
  const onEncoder = generators.filter((g) => g.config === null).map((g) => g.name);
  return {
    type: 'object',
    properties: {
      encoder: { enum: encoders.map((e) => e.name), ...describeEntries(encoders, `Default ${DEFAULT_ENCODER}. `) },
      generator: {
        enum: generators.map((g) => g.name),
        ...describeEntries(generators, `What the pixel-reconstruction methods (context-encoder, autoencoder, random) train. Default ${DEFAULT_GENERATOR}. `),
      },
    },
    allOf: [
      ...branches(
        'encoder',
        encoders.map((e) => ({ name: e.name, fields: merge(common, e.config, { properties: { generator: {} } }), isDefault: e.name === DEFAULT_ENCODER })),
        { generator: { enum: onEncoder } },
      ),
      ...branches(
        'generator',
        generators.flatMap((g) => (g.config === null ? [] : [{ name: g.name, fields: g.config }])),
      ),
    ],
  };
}

function pretextSchema(): JsonSchema {
  const methods = PRETEXT_METHODS.all();
  return {
    type: 'object',
    required: ['method'],
    properties: { method: { enum: methods.map((m) => m.name), ...describeEntries(methods) } },
    allOf: branches(
      'method',
      methods.map((m) => ({ name: m.name, fields: merge(COMMON_PRETEXT_FIELDS, m.config) })),
    ),
  };
}

/** The fields every downstream entry of `task` may have: common, the task's, and those of the protocols it can run. */
export function downstreamFields(task: string): ConfigFragment {
  const spec = DOWNSTREAM_TASKS.get(task);
  const common: ConfigFragment = {
    properties: { dataset: { type: 'string', description: 'A key of datasets; defaults to the first.' }, checkpointEvery: CHECKPOINT_EVERY_FIELD },
  };
  const parts = [common, spec.config];
  if (spec.usesProtocols) {
    const protocols = protocolsFor(spec);
    const names = protocols.map((p) => p.name);
    parts.push({
      properties: {
        protocols: {
          type: 'array',
          minItems: 1,
          uniqueItems: true,
          items: { enum: names },
          default: [names.includes('frozen') ? 'frozen' : names[0]],
          ...describeEntries(protocols),
        },
      },
    });
    parts.push(...protocols.map((p) => p.config));
  }
  if (spec.layer === 'chosen') {
    parts.push({
      properties: {
        layer: { enum: [...ENCODER_LAYERS], description: `The encoder layer whose output feeds the head (default ${DEFAULT_LAYER}).` },
        layers: {
          type: 'array',
          minItems: 1,
          uniqueItems: true,
          items: { enum: [...ENCODER_LAYERS] },
          description: 'Several layers, one job each (a layer column in results.csv and the report); instead of layer.',
        },
      },
    });
  }
  return merge(...parts);
}

function downstreamSchema(): JsonSchema {
  const tasks = DOWNSTREAM_TASKS.all();
  return {
    type: 'object',
    required: ['task'],
    properties: { task: { enum: tasks.map((t) => t.name), ...describeEntries(tasks) } },
    allOf: branches(
      'task',
      tasks.map((t) => ({ name: t.name, fields: downstreamFields(t.name) })),
    ),
  };
}

export function buildExperimentSchema(): JsonSchema {
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'https://context-encoder-bench/experiment.schema.json',
    title: 'context-encoder-bench experiment',
    description: "Pretext methods x downstream tasks x seeds. Paths are relative to the experiment file's folder. Generated from the registries (npm run schema).",
    type: 'object',
    additionalProperties: false,
    required: ['name', 'seeds', 'datasets', 'model', 'pretext'],
    properties: {
      $schema: { type: 'string' },
      name: { type: 'string', pattern: '^[A-Za-z0-9._-]+$', description: 'Names results/<name>/ and reports/<name>/.' },
      description: { type: 'string' },
      seeds: {
        type: 'array',
        minItems: 1,
        uniqueItems: true,
        items: { type: 'integer', minimum: 0, maximum: 2147483647 },
        description: 'Every job runs once per seed; the seed derives every random stream of that job.',
      },
      datasets: { type: 'object', minProperties: 1, additionalProperties: { $ref: '#/definitions/dataset' } },
      model: { $ref: '#/definitions/model' },
      pretext: { type: 'array', minItems: 1, items: { $ref: '#/definitions/pretext' } },
      downstream: { type: 'array', items: { $ref: '#/definitions/downstream' } },
    },
    definitions: {
      dataset: datasetSchema(),
      model: modelSchema(),
      pretext: pretextSchema(),
      downstream: downstreamSchema(),
    },
  };
}
