// What a manager runs while it leads (DESIGN §1): the orchestrators (services, restarts, reaping,
// constraint enforcement), the rolling updater, the allocator and the scheduler. They meet only through the store; the manager starts
// them on gaining leadership and stops them, in reverse order, on losing it.
import type { Clock, Logger, Random, Registry } from "@shoal/common";
import { Allocator, Orchestration, Scheduler, Updater, type LeaderComponent } from "@shoal/manager";
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
    const withRandom = { ...base, ...(modules.random === undefined ? {} : { random: modules.random }) };
    // Started in this order, stopped in reverse: tasks are created (orchestrators, updater), made
    // PENDING with their ports (allocator), then placed (scheduler). The creators place what they
    // can at once through the scheduler (born ASSIGNED); it places none until it has started.
    const scheduler = new Scheduler({}, { ...base, metrics: modules.registry });
    const creating = { ...withRandom, placer: scheduler };
    return [new Orchestration({}, creating), new Updater({}, creating), new Allocator({}, base), scheduler];
  };
}
