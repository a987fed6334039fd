import { unknownEngine } from '../domain/problems.ts';
import type { Engine } from './engine.ts';

/** The engines this process knows, in preference order for the default. */
export class EngineRegistry {
  readonly #engines = new Map<string, Engine>();
  #defaultId: string | undefined;

  register(engine: Engine<never> | Engine, options: { default?: boolean } = {}): void {
    this.#engines.set(engine.id, engine as Engine);
    if (options.default || !this.#defaultId) this.#defaultId = engine.id;
  }

  list(): Engine[] {
    return [...this.#engines.values()];
  }

  has(id: string): boolean {
    return this.#engines.has(id);
  }

  get(id: string | undefined): Engine {
    const engineId = id ?? this.#defaultId;
    const engine = engineId ? this.#engines.get(engineId) : undefined;
    if (!engine) {
      throw unknownEngine(engineId ?? "(no default engine)", [...this.#engines.keys()]);
    }
    return engine;
  }

  get defaultId(): string | undefined {
    return this.#defaultId;
  }
}
