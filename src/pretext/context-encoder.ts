/**
 * The context encoder: reconstruct a hidden region from its surroundings,
 * masked L2 with the overlap band weighted more, optionally joint with an
 * adversarial loss (Pathak et al. 2016).
 */
import { makeMask, OVERLAP_WEIGHT, segmentationShapes, type Mask } from '../data/masks.js';
import { VocDataset } from '../data/voc.js';
import { logLine } from '../engine/log.js';
import { trainReconstruction } from './reconstruction.js';
import type { PretextMethod } from './types.js';

export const trainContextEncoder: PretextMethod = (job) =>
  trainReconstruction(job, {
    async makeMaskFactory(job, _rng, bad) {
      const { config, model } = job;
      let shapes: Uint8Array[] | undefined;
      // The paper pastes object shapes from VOC 2012 segmentations; use the dataset's own when it has them.
      if (config.mask === 'random-region' && job.dataset.format === 'voc') {
        const voc = await VocDataset.open(job.dataset.root);
        if (voc.hasSegmentation()) {
          const ids = await voc.ids('trainval', 'Segmentation');
          shapes = await segmentationShapes(voc, ids, model.inputSize, 400, bad);
          logLine(`pretext ${config.name}: ${shapes.length} random-region shapes from ${voc.root}/SegmentationClass`);
        }
      }
      const opts = {
        kind: config.mask,
        holeFraction: config.holeFraction,
        overlapPx: config.overlapPx,
        shapes: shapes && shapes.length > 0 ? shapes : undefined,
        shapeSize: model.inputSize,
      };
      return (rng) => withOverlapWeight(makeMask(model.inputSize, rng, opts), config.overlapWeight);
    },
  });

/** Masks carry the reference code's band weight; an experiment may ask for another. */
function withOverlapWeight(mask: Mask, overlapWeight: number): Mask {
  if (overlapWeight === OVERLAP_WEIGHT) return mask;
  const weight = mask.weight.map((w) => (w === OVERLAP_WEIGHT ? overlapWeight : w));
  return { ...mask, weight };
}
