/**
 * Transfer protocols describe themselves: a new protocol is one file calling
 * registerProtocol plus one line in ./index.ts. A protocol decides which
 * encoder layers train with the head; the tasks ask it, never its name.
 */
import type { EncoderLayer } from '../../models/encoders/layers.js';
import { Registry, type ConfigFragment } from '../../registry/registry.js';
import type { DownstreamCommonConfig } from '../config.js';

export interface ProtocolSpec {
  name: string;
  /** One line for the schema's description of `protocols`. */
  description?: string;
  /** The protocol's own fields of a downstream entry (in a job's key only when the job runs this protocol). */
  config: ConfigFragment;
  /** Tasks it applies to; absent: every task that trains through protocols. */
  tasks?: string[];
  /**
   * The encoder layers whose weights train with the head, given the layer
   * the task reads (input to output order); empty keeps the encoder fixed,
   * which lets tasks compute its features once.
   */
  trainedLayers(config: DownstreamCommonConfig, layer: EncoderLayer): EncoderLayer[];
  /**
   * A protocol that fits on frozen features itself instead of training a head
   * (kNN, a closed-form probe; keep `trainedLayers` empty): given the
   * training images' features (standardised, `featureSize` values per image)
   * and labels (1 / -1 / 0 per class), it returns a scorer of test features:
   * one score per class and image, higher meaning more likely. Tasks that
   * support it (classification) call it instead of training their head.
   */
  fitFeatures?(train: { features: Float32Array; labels: Int8Array[]; featureSize: number; seed: number }, config: DownstreamCommonConfig): (features: Float32Array, count: number) => Float32Array;
  /**
   * A protocol that reads the layer average-pooled to about this many values
   * per image (Zhang et al.'s ~9k; probe-pooling.ts picks the grid): the
   * task's encoder then ends in that pooling, so training and test features
   * pool alike and only pooled features are ever held. 0 or absent: the
   * layer whole.
   */
  pooledDims?(config: DownstreamCommonConfig): number;
  /**
   * What a frozen job of this protocol does after computing features, as the
   * dry-run plan names it; absent: the task's own head training ("N head steps").
   */
  planNote?(config: DownstreamCommonConfig): string;
  /** Problems of an entry running this protocol at `layer`, as "field: message". */
  check?(config: DownstreamCommonConfig, layer: EncoderLayer): string[];
}

export const PROTOCOLS = new Registry<ProtocolSpec>('protocol', 'src/downstream/protocols/index.ts');

export function registerProtocol(spec: ProtocolSpec): ProtocolSpec {
  return PROTOCOLS.register(spec);
}

/** The protocols a task can run: those that name it (or no task), and those that fit on features only where the task lets them. */
export function protocolsFor(task: { name: string; fitsFeatures?: boolean }): ProtocolSpec[] {
  return PROTOCOLS.all().filter((p) => (p.tasks === undefined || p.tasks.includes(task.name)) && (p.fitFeatures === undefined || task.fitsFeatures === true));
}
