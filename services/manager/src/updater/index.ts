// The rolling updater (DESIGN §2): replaces the tasks of services whose template changed, batch by
// batch, and rolls back on failure. Pure decisions in core/, the store-watching edge in updater.ts.
export * from "./errors.js";
export * from "./core/index.js";
export * from "./updater.js";
