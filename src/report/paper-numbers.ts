/**
 * Published numbers, as transcribed in shared/PAPER.md: the paper's own
 * (Pathak et al., Context Encoders, CVPR 2016) and the per-layer linear
 * probes of later work (Zhang et al., Split-Brain Autoencoders, CVPR 2017).
 * Percentages stay percentages and PSNR stays dB, exactly as printed, so a
 * reader can match them to the source.
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

export const PUBLISHED_LINEAR_PROBE_LAYERS = ['conv1', 'conv2', 'conv3', 'conv4', 'conv5'] as const;

export interface PublishedLayerValue {
  /** Top-1 %, ImageNet val. */
  value: number;
  /** Hidden in the project page's plot, so taken from the paper's table (marked * in the report). */
  fromTable?: boolean;
}

export interface PublishedLinearProbeRow {
  label: string;
  values: Record<(typeof PUBLISHED_LINEAR_PROBE_LAYERS)[number], PublishedLayerValue>;
}

const row = (label: string, values: number[], fromTable: number[] = []): PublishedLinearProbeRow => ({
  label,
  values: Object.fromEntries(
    PUBLISHED_LINEAR_PROBE_LAYERS.map((layer, i) => [layer, fromTable.includes(i) ? { value: values[i], fromTable: true } : { value: values[i] }]),
  ) as PublishedLinearProbeRow['values'],
});

/** Zhang et al. 2017, ImageNet linear classification on frozen AlexNet layers, each average-pooled to about 9k values. */
export const PUBLISHED_LINEAR_PROBE: readonly PublishedLinearProbeRow[] = [
  row('ImageNet labels', [19.3, 36.3, 44.2, 48.3, 50.5]),
  row('Gaussian (random)', [11.6, 17.1, 16.9, 16.3, 14.1], [0]),
  row('Krähenbühl et al. (data-dependent init)', [17.5, 23.0, 24.5, 23.2, 20.6], [0, 1]),
  row('Context encoder (Pathak et al.)', [14.1, 20.7, 21.0, 19.8, 15.5]),
  row('Doersch et al. (context prediction)', [16.2, 23.3, 30.2, 31.7, 29.6]),
  row('Colorization (Zhang et al. 2016)', [13.1, 24.8, 31.0, 32.6, 31.8]),
  row('Split-Brain', [17.7, 29.3, 35.4, 35.2, 32.8]),
];

export const PUBLISHED_LINEAR_PROBE_NOTES: readonly string[] = [
  'Published rows: Zhang, Isola, Efros, "Split-Brain Autoencoders", CVPR 2017: ImageNet (1000 classes) top-1 of one linear layer on each frozen layer of a full AlexNet at 227 px, ' +
    'average-pooled to about 9,000 values; read from the project page\'s comparison plot (±0.1), * from the paper\'s table where the plot hides the value.',
  'A different dataset, image size and network width than ours: compare the shape (which method is above which at each layer, where each peaks), not the values.',
];
