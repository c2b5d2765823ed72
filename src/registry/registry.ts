/**
 * A name -> entry table that describes itself (in the spirit of timm's
 * register_model): each pretext method, downstream task, protocol, dataset
 * format and encoder is one module that registers its entry when imported,
 * and its folder's index.ts imports every such module (one line each).
 */

/** A JSON Schema fragment (draft-07): what an entry adds to the experiment file. */
export type JsonSchema = { [keyword: string]: unknown };

/** The fields an entry adds to its part of the experiment file, each with a default where one exists. */
export interface ConfigFragment {
  properties: Record<string, JsonSchema>;
  /** Fields that must be given (no default). */
  required?: string[];
  /** Fields holding a file or folder path, relative to the experiment file (made absolute at load). */
  paths?: string[];
}

export const NO_FIELDS: ConfigFragment = { properties: {} };

export class Registry<T extends { name: string }> {
  private readonly entries = new Map<string, T>();

  /** `kind` names an entry in messages ("pretext method"); `index` is where entries are listed. */
  constructor(
    readonly kind: string,
    readonly index: string,
  ) {}

  /** Registering a name twice is a bug (two modules claiming it), not a user error. */
  register(entry: T): T {
    if (this.entries.has(entry.name)) throw new Error(`${this.kind} "${entry.name}" is registered twice; each needs its own name (${this.index})`);
    this.entries.set(entry.name, entry);
    return entry;
  }

  /** Removes an entry: for tests that register entries of their own and must leave the registry as they found it. */
  unregister(name: string): void {
    this.entries.delete(name);
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  /** An entry the experiment's schema already allowed; an unknown name here is a bug. */
  get(name: string): T {
    const entry = this.entries.get(name);
    if (!entry) throw new Error(`no ${this.kind} "${name}" is registered (known: ${this.names().join(', ')}); is it imported in ${this.index}?`);
    return entry;
  }

  /** Names in registration order (the order of the index's imports). */
  names(): string[] {
    return [...this.entries.keys()];
  }

  all(): T[] {
    return [...this.entries.values()];
  }
}
