/** A minimal typed event emitter: listeners never break the emitter (their errors go to `onListenerError`). */
export interface TypedEmitter<Events extends Record<string, unknown>> {
  /** Adds a listener; returns a function that removes it. */
  on<K extends keyof Events>(event: K, listener: (payload: Events[K]) => void): () => void;
  off<K extends keyof Events>(event: K, listener: (payload: Events[K]) => void): void;
}

export function createTypedEmitter<Events extends Record<string, unknown>>(
  onListenerError: (event: string, error: unknown) => void,
): TypedEmitter<Events> & { emit<K extends keyof Events>(event: K, payload: Events[K]): void } {
  const listeners = new Map<keyof Events, Set<(payload: never) => void>>();
  return {
    on(event, listener) {
      let set = listeners.get(event);
      if (!set) {
        set = new Set();
        listeners.set(event, set);
      }
      set.add(listener);
      return () => set.delete(listener);
    },
    off(event, listener) {
      listeners.get(event)?.delete(listener);
    },
    emit(event, payload) {
      const set = listeners.get(event);
      if (!set) return;
      for (const listener of set) {
        try {
          (listener as (p: typeof payload) => void)(payload);
        } catch (error) {
          onListenerError(String(event), error);
        }
      }
    },
  };
}
