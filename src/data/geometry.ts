/**
 * Where a non-square image lands in the encoder's square input. FCN runs on
 * whole images; our encoders take a fixed square, so an image is resized with
 * its aspect kept until its longer side fills the square, centred, and the
 * rest is padding. Label maps go through the same box (padding is void), and
 * predictions come back out of it to the original pixels.
 */

export interface Letterbox {
  /** Side of the square input. */
  size: number;
  /** The original image's size. */
  width: number;
  height: number;
  /** The resized image inside the square, and its top-left corner. */
  contentWidth: number;
  contentHeight: number;
  left: number;
  top: number;
}

export function letterbox(width: number, height: number, size: number): Letterbox {
  const scale = size / Math.max(width, height);
  const contentWidth = Math.min(size, Math.max(1, Math.round(width * scale)));
  const contentHeight = Math.min(size, Math.max(1, Math.round(height * scale)));
  return {
    size,
    width,
    height,
    contentWidth,
    contentHeight,
    left: Math.floor((size - contentWidth) / 2),
    top: Math.floor((size - contentHeight) / 2),
  };
}

/**
 * A label map (width x height of the box's original) placed into the square
 * by nearest neighbour at pixel centres, so no label is invented at edges;
 * padding gets `fill` (void: 255, ignored by the loss).
 */
export function letterboxLabels(labels: Uint8Array, box: Letterbox, fill = 255): Uint8Array {
  const { size, width, height, contentWidth, contentHeight, left, top } = box;
  const out = new Uint8Array(size * size).fill(fill);
  for (let y = 0; y < contentHeight; y++) {
    const sy = Math.min(height - 1, Math.floor(((y + 0.5) * height) / contentHeight));
    for (let x = 0; x < contentWidth; x++) {
      const sx = Math.min(width - 1, Math.floor(((x + 0.5) * width) / contentWidth));
      out[(top + y) * size + left + x] = labels[sy * width + sx];
    }
  }
  return out;
}

/** Mirrors an HWC buffer of side `size` left-right. */
export function mirrorSquare<T extends Float32Array | Uint8Array>(data: T, size: number, channels: number): T {
  const out = data.slice() as T;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      for (let c = 0; c < channels; c++) out[(y * size + x) * channels + c] = data[(y * size + (size - 1 - x)) * channels + c];
    }
  }
  return out;
}
