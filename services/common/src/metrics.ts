import { Counter, Gauge, Histogram, Registry } from "prom-client";

export { Counter, Gauge, Histogram, Registry };

/** One registry per process; components register their metrics on it (names carry units). */
export function createRegistry(): Registry {
  return new Registry();
}
