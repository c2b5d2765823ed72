/**
 * The supervised upper bound (the paper's "ImageNet labels" row): the same
 * encoder trained to predict each image's class from the dataset's labels.
 * Single-label data; an image's first label is its class.
 */
import { CLASSIFIER_FIELDS, trainClassifier, type ClassifierConfig } from './classifier-training.js';
import { registerPretext } from './registry.js';

registerPretext<ClassifierConfig>({
  name: 'supervised',
  description: "the encoder trained on the dataset's class labels (softmax), the upper bound",
  config: CLASSIFIER_FIELDS,
  needs: { labels: true },
  produces: { encoder: true, generator: false },
  train: (job, ctx) =>
    trainClassifier(job, ctx, {
      classes: () => ctx.dataset.classes.length,
      usable: (samples) => samples.filter((s) => s.labels !== undefined && s.labels.length > 0),
      batch: (images, indices, samples) => ({ input: images, targets: indices.map((i) => samples[i].labels![0]) }),
    }),
});
