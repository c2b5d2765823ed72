/**
 * Rows of float32 features on disk instead of the heap: the frozen
 * protocol's cache of a few augmented views per training image grows with
 * the dataset (VOC07 trainval at pool5: ~900 MB; 20,000 images: ~3.7 GB),
 * while a training step reads only a batch of rows. Rows are appended in
 * order and read back by index with positioned reads; the bytes are the
 * process's own float32s, so a row reads back bit-identical.
 *
 * The file is scratch space of one job run: `close` deletes it, and a
 * resumed job builds its store again rather than trusting a file an
 * interrupted run may have left half-written.
 */
import { mkdir, open, rm, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';

/** File of a frozen protocol's feature cache, inside the job's folder while it runs (deleted before the folder is complete). */
export const FEATURE_STORE_FILE = 'frozen-features.f32';

export class FeatureStore {
  private count = 0;

  private constructor(
    /** The backing file. */
    readonly path: string,
    /** Floats per row. */
    readonly rowSize: number,
    private readonly file: FileHandle,
  ) {}

  /** Creates (or truncates: a leftover of an interrupted run is never read) the file at `path`. */
  static async create(path: string, rowSize: number): Promise<FeatureStore> {
    if (!(Number.isInteger(rowSize) && rowSize > 0)) throw new Error(`feature store row size ${rowSize} must be a positive integer`);
    await mkdir(dirname(path), { recursive: true });
    return new FeatureStore(path, rowSize, await open(path, 'w+'));
  }

  /** Rows written so far. */
  get rows(): number {
    return this.count;
  }

  private get rowBytes(): number {
    return this.rowSize * Float32Array.BYTES_PER_ELEMENT;
  }

  /** Appends whole rows, back to back in `rows`. */
  async append(rows: Float32Array): Promise<void> {
    if (rows.length % this.rowSize !== 0) throw new Error(`feature store: ${rows.length} floats are not whole rows of ${this.rowSize}`);
    const bytes = new Uint8Array(rows.buffer, rows.byteOffset, rows.byteLength);
    let done = 0;
    // A positioned write may write less than asked (large buffers); write the rest.
    while (done < bytes.length) {
      const { bytesWritten } = await this.file.write(bytes, done, bytes.length - done, this.count * this.rowBytes + done);
      done += bytesWritten;
    }
    this.count += rows.length / this.rowSize;
  }

  /** Copies row `index` into `out` at float offset `at`. */
  async readRow(index: number, out: Float32Array, at: number): Promise<void> {
    if (!(Number.isInteger(index) && index >= 0 && index < this.count)) throw new Error(`feature store: row ${index} of ${this.count}`);
    const bytes = new Uint8Array(out.buffer, out.byteOffset + at * Float32Array.BYTES_PER_ELEMENT, this.rowBytes);
    let done = 0;
    while (done < bytes.length) {
      const { bytesRead } = await this.file.read(bytes, done, bytes.length - done, index * this.rowBytes + done);
      if (bytesRead === 0) throw new Error(`${this.path}: ended inside row ${index}`);
      done += bytesRead;
    }
  }

  /** Rows `indices`, back to back in that order. */
  async read(indices: readonly number[]): Promise<Float32Array> {
    const out = new Float32Array(indices.length * this.rowSize);
    await Promise.all(indices.map((index, k) => this.readRow(index, out, k * this.rowSize)));
    return out;
  }

  /** Closes and deletes the file. */
  async close(): Promise<void> {
    await this.file.close();
    await rm(this.path, { force: true });
  }
}
