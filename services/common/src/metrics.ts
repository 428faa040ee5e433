import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export { Counter, Gauge, Histogram, Registry };

/** One registry per process; components register their metrics on it (names carry units). */
export function createRegistry(): Registry {
  return new Registry();
}

/**
 * A process's own registry: Shoal's metrics plus the runtime's (process_resident_memory_bytes,
 * nodejs_heap_size_used_bytes, nodejs_external_memory_bytes, event loop lag, GC). For a process's
 * entry point only: the collectors watch the process and are never removed.
 */
export function createProcessRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}
