/**
 * A dataset format is one module (voc, folder, ...) that opens a dataset root
 * and hands out samples; every task and pretext method reads data through a
 * DatasetHandle, never through file paths of a particular layout.
 */
import type { ConfigFragment } from '../../registry/registry.js';
import type { ImageData } from '../image.js';
import type { OnBadSample } from '../samples.js';
import type { VocAnnotation } from '../voc.js';

export interface SampleRef {
  id: string;
  /** File (or file#index) named in error messages. */
  source: string;
  /** The image as sharp reads it. */
  image(): Promise<ImageData>;
  /** Indices (into the handle's classes) of the classes present: one for single-label formats. */
  labels?: number[];
  /** Per class 1 (present), -1 (absent), 0 (ignored: difficult only), when the format has such labels (VOC). */
  labelStates?: Int8Array;
  /** Object boxes (VOC). */
  annotation?(): Promise<VocAnnotation>;
  /** Segmentation label map, class k at value k (1-based; 0 background, 255 void), the image's size. */
  labelMap?(): Promise<{ data: Uint8Array; width: number; height: number }>;
}

export interface ListOptions {
  /** Only samples that have this: label maps come from their own split lists in VOC (ImageSets/Segmentation). */
  with?: 'labelMaps';
}

export interface DatasetHandle {
  /** Dataset root, for messages (the entry's root when absent). */
  root?: string;
  classes: string[];
  /** The samples of a split, in the dataset's order. */
  list(split: string, opts?: ListOptions): Promise<SampleRef[]>;
}

export interface DatasetCapabilities {
  labels: boolean;
  multiLabel: boolean;
  boxes: boolean;
  labelMaps: boolean;
}

export interface DatasetFormatSpec {
  name: string;
  /** One line for the schema: what the format reads. */
  description?: string;
  /** Format-specific fields of a dataset entry (besides format, root, onBadSample, synthesize). */
  config?: ConfigFragment;
  provides: DatasetCapabilities;
  /** Where users get this data and the layout expected, for a missing root. */
  missingHelp: string;
  /** Writes a synthetic dataset of this format at root (the entry's `synthesize`), when the format can. */
  synthesize?(root: string, opts: { images: number; size: number; seed: number; classes?: number }): Promise<void>;
  open(root: string, opts: { onBadSample?: OnBadSample; config?: Record<string, unknown> }): Promise<DatasetHandle>;
}
