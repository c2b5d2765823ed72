/** The experiment's `model` entry: the network every pretext method trains. */
export interface ModelConfig {
  inputSize: number;
  widthMultiplier: number;
  decoderWidths?: number[];
}
