/** The experiment's `model` entry: the network every pretext method trains. */
export interface ModelConfig {
  /** A registered encoder; absent: the default (alexnet), and absent from job keys. */
  encoder?: string;
  inputSize: number;
  decoderWidths?: number[];
  /** The encoder's own fields (alexnet: widthMultiplier). */
  [field: string]: unknown;
}
