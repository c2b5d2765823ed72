/** A pretext entry of the experiment file, after validation and defaults. */
import type { MaskKind } from '../data/masks.js';

export type PretextMethodName = 'context-encoder' | 'autoencoder' | 'random';

export interface PretextConfig {
  method: PretextMethodName;
  /** Label in results; defaults to the method. */
  name: string;
  dataset: string;
  split: string;
  heldoutSplit: string;
  heldoutImages: number;
  mask: MaskKind;
  evalMask: MaskKind;
  holeFraction: number;
  overlapPx: number;
  overlapWeight: number;
  steps: number;
  batchSize: number;
  lr: number;
  beta1: number;
  adversarial: boolean;
  lambdaRec: number;
  loadScale: number;
  maxImages?: number;
  logEvery: number;
  checkpointEvery: number;
}
