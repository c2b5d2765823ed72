/** PASCAL VOC folders (and the synthetic stand-in `bench synth` writes) as a dataset format. */
import { writeSyntheticVoc } from '../synthetic.js';
import { VocDataset } from '../voc.js';
import { registerDatasetFormat } from './registry.js';
import type { DatasetHandle, SampleRef } from './types.js';

/** Per-class label states of a split, or undefined when the dataset has no per-class files for it. */
async function labelStates(voc: VocDataset, split: string): Promise<Map<string, Int8Array> | undefined> {
  if (!(await voc.hasClassLabels(split))) return undefined;
  const perClass = await Promise.all(voc.classes.map((c) => voc.classLabels(c, split)));
  return new Map((await voc.ids(split)).map((id) => [id, Int8Array.from(perClass, (m) => m.get(id) ?? -1)]));
}

function sample(voc: VocDataset, id: string, states: Int8Array | undefined): SampleRef {
  const path = voc.imagePath(id);
  return {
    id,
    source: path,
    image: async () => path,
    ...(states ? { labelStates: states, labels: [...states.keys()].filter((k) => states[k] === 1) } : {}),
    annotation: () => voc.annotation(id),
    labelMap: async () => {
      const seg = await voc.segmentation(id);
      return { data: seg.labels, width: seg.width, height: seg.height };
    },
  };
}

async function open(root: string): Promise<DatasetHandle> {
  const voc = await VocDataset.open(root);
  return {
    root,
    classes: [...voc.classes],
    async list(split, opts) {
      if (opts?.with === 'labelMaps') {
        // Label maps have their own split lists; asking without them says where they are expected.
        if (!voc.hasSegmentation()) return [];
        return (await voc.ids(split, 'Segmentation')).map((id) => sample(voc, id, undefined));
      }
      const states = await labelStates(voc, split);
      return (await voc.ids(split)).map((id) => sample(voc, id, states?.get(id)));
    },
  };
}

registerDatasetFormat({
  name: 'voc',
  description: 'a PASCAL VOC folder (JPEGImages, Annotations, ImageSets; SegmentationClass for segmentation)',
  provides: { labels: true, multiLabel: true, boxes: true, labelMaps: true },
  missingHelp:
    'PASCAL VOC comes from http://host.robots.ox.ac.uk/pascal/VOC/ (VOCtrainval_06-Nov-2007.tar and VOCtest_06-Nov-2007.tar; pass the VOCdevkit/VOC2007 folder); ' +
    'expected <root>/JPEGImages/<id>.jpg, <root>/Annotations/<id>.xml, <root>/ImageSets/Main/<split>.txt (and for segmentation <root>/SegmentationClass/<id>.png, <root>/ImageSets/Segmentation/<split>.txt)',
  synthesize: (root, opts) => writeSyntheticVoc({ out: root, ...opts }),
  open,
});
