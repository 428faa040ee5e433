// What a manager runs while it leads (DESIGN §1): the orchestrators (services, restarts, reaping,
// constraint enforcement) and the scheduler. They meet only through the store; the manager starts
// them on gaining leadership and stops them, in reverse order, on losing it.
import type { Clock, Logger, Random, Registry } from "@shoal/common";
import { Orchestration, Scheduler, type LeaderComponent } from "@shoal/manager";
import type { MemoryStore } from "@shoal/store";

export interface LeaderComponentModules {
  logger: Logger;
  registry: Registry;
  clock?: Clock;
  random?: Random;
}

export function leaderComponents(modules: LeaderComponentModules): (store: MemoryStore) => LeaderComponent[] {
  return (store) => {
    const base = { store, logger: modules.logger, ...(modules.clock === undefined ? {} : { clock: modules.clock }) };
    return [
      new Orchestration({}, { ...base, ...(modules.random === undefined ? {} : { random: modules.random }) }),
      new Scheduler({}, { ...base, metrics: modules.registry }),
    ];
  };
}
