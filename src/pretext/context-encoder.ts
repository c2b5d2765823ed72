/**
 * The context encoder: reconstruct a hidden region from its surroundings,
 * masked L2 with the overlap band weighted more, optionally joint with an
 * adversarial loss (Pathak et al. 2016).
 */
import { makeMask, OVERLAP_WEIGHT, segmentationShapes, type Mask } from '../data/masks.js';
import { logLine } from '../engine/log.js';
import { RECONSTRUCTION_FIELDS, reconstructionProblems, type ReconstructionConfig } from './reconstruction-config.js';
import { trainReconstruction } from './reconstruction.js';
import { registerPretext } from './registry.js';

registerPretext<ReconstructionConfig>({
  name: 'context-encoder',
  description: 'reconstruct a masked region from its context (masked L2, optionally adversarial)',
  config: RECONSTRUCTION_FIELDS,
  needs: { labels: false },
  produces: { encoder: true, generator: true },
  check: (config, model) => reconstructionProblems(config, model, ['mask', 'evalMask']),
  train: (job, ctx) =>
    trainReconstruction(job, ctx, {
      async makeMaskFactory(job, _rng, bad) {
        const { config, model } = job;
        let shapes: Uint8Array[] | undefined;
        // The paper pastes object shapes from VOC 2012 segmentations; use the dataset's own label maps when it has them.
        if (config.mask === 'random-region') {
          const labelled = await ctx.dataset.list('trainval', { with: 'labelMaps' });
          if (labelled.length > 0) {
            shapes = await segmentationShapes(labelled, model.inputSize, 400, bad);
            logLine(`pretext ${config.name}: ${shapes.length} random-region shapes from the label maps of ${job.dataset.root}`);
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
    }),
});

/** Masks carry the reference code's band weight; an experiment may ask for another. */
function withOverlapWeight(mask: Mask, overlapWeight: number): Mask {
  if (overlapWeight === OVERLAP_WEIGHT) return mask;
  const weight = mask.weight.map((w) => (w === OVERLAP_WEIGHT ? overlapWeight : w));
  return { ...mask, weight };
}
