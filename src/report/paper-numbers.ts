/**
 * The paper's published numbers (Pathak et al., Context Encoders, CVPR 2016),
 * as transcribed in shared/PAPER.md. Percentages stay percentages and PSNR
 * stays dB, exactly as printed, so a reader can match them to the paper.
 */

export interface PublishedTransferRow {
  /** Our method name when the row is one we also run, else null. */
  method: string | null;
  label: string;
  supervision: string;
  pretrainTime: string;
  /** Percent; null where the paper prints '-'. */
  classification: number | null;
  detection: number | null;
  segmentation: number | null;
  /** Footnote marker (see PUBLISHED_TRANSFER_NOTES) on the segmentation cell. */
  segmentationNote?: string;
}

export const PUBLISHED_TRANSFER: readonly PublishedTransferRow[] = [
  { method: null, label: 'ImageNet', supervision: '1000 class labels', pretrainTime: '3 days', classification: 78.2, detection: 56.8, segmentation: 48.0 },
  { method: 'random', label: 'Random Gaussian', supervision: 'initialisation', pretrainTime: '< 1 minute', classification: 53.3, detection: 43.4, segmentation: 19.8 },
  { method: 'autoencoder', label: 'Autoencoder', supervision: '-', pretrainTime: '14 hours', classification: 53.8, detection: 41.9, segmentation: 25.2 },
  { method: null, label: 'Agrawal et al.', supervision: 'egomotion', pretrainTime: '10 hours', classification: 52.9, detection: 41.8, segmentation: null },
  { method: null, label: 'Wang et al.', supervision: 'motion', pretrainTime: '1 week', classification: 58.7, detection: 47.4, segmentation: null },
  { method: null, label: 'Doersch et al.', supervision: 'relative context', pretrainTime: '4 weeks', classification: 55.3, detection: 46.6, segmentation: null },
  { method: 'context-encoder', label: 'Context encoder', supervision: 'context', pretrainTime: '14 hours', classification: 56.5, detection: 44.5, segmentation: 30.0, segmentationNote: 'a' },
];

export const PUBLISHED_TRANSFER_NOTES: readonly string[] = [
  'Published rows: Pathak et al., "Context Encoders: Feature Learning by Inpainting", Table 2, ' +
    'fine-tuned AlexNet on PASCAL VOC 2007 test (classification, detection) and VOC 2012 val (segmentation).',
  '(a) Segmentation 30.0 is quoted from the CVPR 2016 version of the paper; public benchmark listings of the paper give 29.7 for the same cell.',
];

export interface PublishedInpaintingRow {
  label: string;
  /** Percent of the [0, 1] intensity range, as printed. */
  l1: number;
  l2: number;
  psnr: number;
}

export const PUBLISHED_INPAINTING: readonly PublishedInpaintingRow[] = [
  { label: 'NN-inpainting (HOG features)', l1: 19.92, l2: 6.92, psnr: 12.79 },
  { label: 'NN-inpainting (context-encoder features)', l1: 15.1, l2: 4.3, psnr: 14.7 },
  { label: 'Context encoder reconstructions', l1: 9.37, l2: 1.96, psnr: 18.58 },
];

export const PUBLISHED_INPAINTING_NOTES: readonly string[] = [
  'Published rows: Pathak et al., Table 1, Paris StreetView held-out images, centre region.',
  'One public re-implementation prints 10.33% / 2.35% / 17.59 dB for the context-encoder row.',
];
