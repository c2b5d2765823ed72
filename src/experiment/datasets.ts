/** An experiment's datasets before any job runs: synthesized when asked and missing, else present. */
import { UserError } from '../errors.js';
import { logLine } from '../engine/log.js';
import { writeSyntheticVoc } from '../data/synthetic.js';
import { writeDirAtomic } from '../results/store.js';
import { exists } from './job-files.js';
import type { DatasetConfig, Experiment } from './types.js';

const DATA_SOURCES: Record<DatasetConfig['format'], string> = {
  voc:
    'PASCAL VOC comes from http://host.robots.ox.ac.uk/pascal/VOC/ (VOCtrainval_06-Nov-2007.tar and VOCtest_06-Nov-2007.tar; pass the VOCdevkit/VOC2007 folder); ' +
    'expected <root>/JPEGImages/<id>.jpg, <root>/Annotations/<id>.xml, <root>/ImageSets/Main/<split>.txt (and for segmentation <root>/SegmentationClass/<id>.png, <root>/ImageSets/Segmentation/<split>.txt)',
  folder:
    'an ImageNet-style folder has one subfolder of images per class (e.g. ILSVRC2012 train, from https://image-net.org/ after registration); ' +
    'expected <root>/<split>/<class>/*.jpg|png, or <root>/<class>/*.jpg|png',
};

/**
 * Synthesizes datasets that ask for it and are missing; fails early, naming
 * every other missing dataset. A single job (`bench job`) never synthesizes:
 * its `bench run` did, and concurrent jobs must not race to write one.
 */
export async function prepareDatasets(exp: Experiment, opts: { synthesize: boolean } = { synthesize: true }): Promise<void> {
  const missing: string[] = [];
  const toSynthesize: [string, DatasetConfig][] = [];
  for (const [key, ds] of Object.entries(exp.datasets)) {
    if (await exists(ds.root)) continue;
    if (ds.synthesize && opts.synthesize) toSynthesize.push([key, ds]);
    else if (ds.synthesize) missing.push(`${exp.file} /datasets/${key}/root: ${ds.root} does not exist; \`bench run\` synthesizes it before starting any job`);
    else missing.push(`${exp.file} /datasets/${key}/root: ${ds.root} does not exist; ${DATA_SOURCES[ds.format]}`);
  }
  if (missing.length > 0) throw new UserError(missing.join('\n'));
  for (const [key, ds] of toSynthesize) {
    const synth = ds.synthesize!;
    logLine(`dataset ${key}: writing a synthetic VOC-layout dataset to ${ds.root} (${synth.images} images, ${synth.size}px, seed ${synth.seed})`);
    // Written beside its final place and renamed in, so a half-written dataset is never mistaken for a whole one.
    await writeDirAtomic(ds.root, (tmp) => writeSyntheticVoc({ out: tmp, ...synth }));
  }
}
