/**
 * Weighted k-nearest-neighbour classification of frozen features (Wu et al.
 * 2018, as DINO evaluates): features are L2-normalised, the k training items
 * with the largest cosine similarity s vote for their class with weight
 * exp(s / temperature), and the class with the largest total wins.
 *
 * Deterministic by construction: neighbours with equal similarity are taken
 * in training order (lower index first) and a tie between class totals goes
 * to the lower class index.
 */

export interface KnnOptions {
  /** Neighbours that vote; default 20. */
  k?: number;
  /** Softmax temperature of the votes; default 0.07. */
  temperature?: number;
}

/** Row-major features, `dim` values per item. */
export interface FeatureSet {
  features: Float32Array;
  dim: number;
}

/** A copy of the rows scaled to unit L2 norm (all-zero rows stay zero). */
export function l2NormalizeRows(features: Float32Array, dim: number): Float32Array {
  if (dim <= 0 || features.length % dim !== 0) {
    throw new Error(`l2NormalizeRows: ${features.length} values are not rows of ${dim}`);
  }
  const out = new Float32Array(features.length);
  for (let start = 0; start < features.length; start += dim) {
    let sq = 0;
    for (let j = 0; j < dim; j++) sq += features[start + j] * features[start + j];
    const inv = sq > 0 ? 1 / Math.sqrt(sq) : 0;
    for (let j = 0; j < dim; j++) out[start + j] = features[start + j] * inv;
  }
  return out;
}

/** Indices of the k largest values, largest first; equal values in index order. */
function topK(values: ArrayLike<number>, k: number): number[] {
  const order = Array.from({ length: values.length }, (_, i) => i);
  order.sort((a, b) => values[b] - values[a] || a - b);
  return order.slice(0, k);
}

/**
 * Each class's total vote from one query, given its similarity to every
 * training row (`similarities[t]`, cosine in [-1, 1]) and the classes of each
 * training row (one index, or several for multi-label data). Callers with a
 * fast matrix product compute the similarities themselves and vote here.
 */
export function knnVotes(similarities: ArrayLike<number>, trainLabels: ArrayLike<number | readonly number[]>, classes: number, opts: KnnOptions = {}): Float64Array {
  const k = opts.k ?? 20;
  const temperature = opts.temperature ?? 0.07;
  if (similarities.length !== trainLabels.length) {
    throw new Error(`knnVotes: ${similarities.length} similarities for ${trainLabels.length} training labels`);
  }
  if (!(k >= 1 && Number.isInteger(k))) throw new Error(`knnVotes: k must be a positive integer, got ${k}`);
  if (!(temperature > 0)) throw new Error(`knnVotes: temperature must be positive, got ${temperature}`);
  const votes = new Float64Array(classes);
  for (const t of topK(similarities, Math.min(k, similarities.length))) {
    const weight = Math.exp(similarities[t] / temperature);
    const labels = trainLabels[t];
    for (const label of typeof labels === 'number' ? [labels] : labels) {
      if (!(label >= 0 && label < classes)) throw new Error(`knnVotes: training label ${label} is outside 0..${classes - 1}`);
      votes[label] += weight;
    }
  }
  return votes;
}

/** The class with the largest vote (the lower index on a tie). */
export function knnVote(similarities: ArrayLike<number>, trainLabels: ArrayLike<number | readonly number[]>, classes: number, opts: KnnOptions = {}): number {
  const votes = knnVotes(similarities, trainLabels, classes, opts);
  let best = 0;
  for (let c = 1; c < classes; c++) if (votes[c] > votes[best]) best = c;
  return best;
}

/**
 * Predicted class of every query. `trainLabels[i]` is the class index
 * (0..classes-1) of training row i.
 */
export function knnPredict(train: FeatureSet, trainLabels: ArrayLike<number>, query: FeatureSet, classes: number, opts: KnnOptions = {}): Int32Array {
  if (train.dim !== query.dim) throw new Error(`knnPredict: train rows have ${train.dim} values, queries ${query.dim}`);
  const dim = train.dim;
  const a = l2NormalizeRows(train.features, dim);
  const q = l2NormalizeRows(query.features, dim);
  const nTrain = a.length / dim;
  const nQuery = q.length / dim;
  const predictions = new Int32Array(nQuery);
  const sims = new Float64Array(nTrain);
  for (let i = 0; i < nQuery; i++) {
    const qi = i * dim;
    for (let t = 0; t < nTrain; t++) {
      let s = 0;
      const ti = t * dim;
      for (let j = 0; j < dim; j++) s += q[qi + j] * a[ti + j];
      sims[t] = s;
    }
    predictions[i] = knnVote(sims, trainLabels, classes, opts);
  }
  return predictions;
}

/** Fraction of predictions equal to their label, in [0, 1]. */
export function accuracy(predictions: ArrayLike<number>, labels: ArrayLike<number>): number {
  if (predictions.length !== labels.length) throw new Error(`accuracy: ${predictions.length} predictions for ${labels.length} labels`);
  if (labels.length === 0) return 0;
  let correct = 0;
  for (let i = 0; i < labels.length; i++) if (predictions[i] === labels[i]) correct++;
  return correct / labels.length;
}
