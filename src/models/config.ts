/** The experiment's `model` entry: the network every pretext method trains. */
export interface ModelConfig {
  /** A registered encoder; absent: the default (alexnet), and absent from job keys. */
  encoder?: string;
  /** A registered generator (models/generators); absent: the default (the encoder-decoder on `encoder`), and absent from job keys. */
  generator?: string;
  inputSize: number;
  decoderWidths?: number[];
  /** The encoder's or generator's own fields (alexnet: widthMultiplier; dcgan: bottleneck). */
  [field: string]: unknown;
}
